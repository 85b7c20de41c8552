"""foabench.benchmark: the command line, the separator interface and loader, the training and evaluation
harness, leaderboards, the demo and the benchmark scripts."""
