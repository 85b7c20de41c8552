"""foabench.benchmark: the command line, training and evaluation harness, leaderboards."""
