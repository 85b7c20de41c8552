"""foabench.manifests: checking manifests (schema, hashes, leakage) and exporting datasets (DCASE layouts,
Hugging Face shards). The manifest format itself is :mod:`foabench.synth.scenes.manifest`."""
