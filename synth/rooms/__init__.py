"""Rooms: simulated AmbiX room impulse responses (:mod:`.simulate`, rooms drawn by :mod:`.sampler`, written as a
bank by :mod:`.bank`), room-acoustic figures (:mod:`.acoustics`) and the measured-RIR :mod:`.importers`."""
