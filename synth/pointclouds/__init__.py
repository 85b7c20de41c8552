"""Point clouds of a scene as a depth sensor at the microphone captures them (for point-cloud queries)."""
