"""foabench.model: the BSAST separator."""
