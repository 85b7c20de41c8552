"""Importers of measured FOA RIR sets: WAV/FLAC folders with a position CSV, SOFA files (and the DCASE 2025
``room_ir`` set) and TAU-SRIR style MAT files, converted to AmbiX at import."""
