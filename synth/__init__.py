"""foabench.synth: banks of sources, RIRs and noise; scene sampling and rendering."""

__version__ = "0.1.0"
