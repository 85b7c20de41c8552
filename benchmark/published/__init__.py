"""Published benchmarks: versioned definitions, built into folders anyone can rebuild, verify and be scored on."""
