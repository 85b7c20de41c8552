"""Query encoders (built-in and laion-clap), embedding cache, queries in manifests and pseudo-query recipes."""
