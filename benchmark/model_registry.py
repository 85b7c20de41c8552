"""Names of the trainable separators and training losses (no heavy imports: the CLI reads these at start-up)."""

from __future__ import annotations

#: trainable separator name -> (module:class, config overrides the name implies)
MODELS: dict[str, tuple[str, dict]] = {
    "bsast": ("foabench.model.bsast:BSAST", {}),
    "bsast-w": ("foabench.model.bsast:BSAST", {"n_channels": 1}),  # the paper's W-only row
    "resunet": ("foabench.model.resunet:ResUNet", {}),
}
#: training objectives: auto = the model's ``default_loss`` (BSAST si_sdr_l1, ResUNet l1)
LOSSES = ("auto", "si_sdr_l1", "l1")
