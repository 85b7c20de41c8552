"""foabench.baselines: the signal processing behind the training-free baselines: FOA beamformers (fixed and
MPDR), direction finding, query steering and oracle masks. :mod:`foabench.benchmark.baseline_separators` wraps
them as separators."""
