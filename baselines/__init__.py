"""foabench.baselines: mono separators, FOA beamformers and oracle bounds."""
