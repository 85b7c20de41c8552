"""Scenes: specs (:mod:`.spec`, shipped in ``specs/``), disjoint split assignment (:mod:`.splits`), the seeded
sampler (:mod:`.sampler`, with each target's query text and recipe from :mod:`.query_plan`) and the manifests it
writes (:mod:`.manifest`), levels (:mod:`.levels`), the renderer (:mod:`.render`: inputs gathered, then mixed by
:mod:`.mix` with the FFT convolutions of :mod:`.convolve`, or a batch on a torch device by :mod:`.render_torch`) and
writing a rendered split (:mod:`.render_split`, locally or on Ray via :mod:`.ray_engine`)."""
