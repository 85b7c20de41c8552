"""foabench.manifests: scene manifests, split checks and dataset export."""
