"""foabench.synth: banks of sources, RIRs and noise; scene sampling and rendering; queries.

The subpackages follow the data flow, and each imports only from those before it (checked by the
import-linter contracts in ``pyproject.toml``):

- :mod:`.banks`: the bank format and writer, source banks (builder, clip rules, importers, the starter bank),
  and the set of banks a manifest refers to;
- :mod:`.rooms` and :mod:`.noise`: simulated and measured FOA room impulse responses, diffuse noise banks;
- :mod:`.scenes`: scene specs, split assignment, the sampler and its manifests, levels, the renderer and
  writing a rendered split;
- :mod:`.queries`: query encoders, the embedding cache, pseudo-query recipes and query export.

What every part shares sits beside them: AmbiX conventions (:mod:`.foa`), audio I/O and atomic writes
(:mod:`.audio_io`), resampling, sphere designs and schema versions. :mod:`.cli` assembles ``foabench bank``.
"""

__version__ = "0.2.0"
