"""Noise: diffuse AmbiX noise banks, from mono recordings encoded as diffuse fields (:mod:`.diffuse`) or from
measured 4-channel ambience (:mod:`.bank`), and the starter noise bank (:mod:`.starter`)."""
