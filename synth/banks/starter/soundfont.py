"""A minimal SoundFont 2 reader: which samples sound for a (preset, key, velocity).

Used to group rendered instrument clips by the recordings they are made from: notes that play the same
samples share a split group, so a split never puts one sampled recording on both sides.
Reads only the preset/instrument/sample header chunks (``pdta``); the audio data is left to FluidSynth.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

GEN_INSTRUMENT = 41
GEN_KEY_RANGE = 43
GEN_VEL_RANGE = 44
GEN_SAMPLE_ID = 53

_RECORDS = {  # chunk id -> (struct format, record size)
    b"phdr": ("<20sHHHIII", 38),
    b"pbag": ("<HH", 4),
    b"pgen": ("<HH", 4),
    b"inst": ("<20sH", 22),
    b"ibag": ("<HH", 4),
    b"igen": ("<HH", 4),
    b"shdr": ("<20sIIIIIBbHH", 46),
}


class SoundFontError(ValueError):
    """A file that is not a readable SoundFont 2."""


@dataclass(frozen=True)
class Zone:
    """A zone's key and velocity ranges and its target (instrument index or sample index)."""

    keys: tuple[int, int]
    vels: tuple[int, int]
    target: int

    def covers(self, key: int, vel: int) -> bool:
        return self.keys[0] <= key <= self.keys[1] and self.vels[0] <= vel <= self.vels[1]


def _name(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("latin-1").strip()


def _read_pdta(path: Path) -> dict[bytes, list[tuple]]:
    data = path.read_bytes()
    if data[:4] != b"RIFF" or data[8:12] != b"sfbk":
        raise SoundFontError(f"{path}: not a SoundFont (RIFF sfbk) file")
    pos, chunks = 12, {}
    while pos + 8 <= len(data):
        cid, size = struct.unpack("<4sI", data[pos : pos + 8])
        if cid == b"LIST" and data[pos + 8 : pos + 12] == b"pdta":
            sub, end = pos + 12, pos + 8 + size
            while sub + 8 <= end:
                sid, ssize = struct.unpack("<4sI", data[sub : sub + 8])
                if sid in _RECORDS:
                    fmt, rec = _RECORDS[sid]
                    body = data[sub + 8 : sub + 8 + ssize]
                    chunks[sid] = [struct.unpack(fmt, body[i : i + rec]) for i in range(0, ssize - rec + 1, rec)]
                sub += 8 + ssize + (ssize & 1)
        pos += 8 + size + (size & 1)
    if set(_RECORDS) - set(chunks):
        raise SoundFontError(f"{path}: missing pdta chunks {sorted(set(_RECORDS) - set(chunks))}")
    return chunks


def _zones(bags: list[tuple], gens: list[tuple], first: int, last: int, target_gen: int) -> list[Zone]:
    """Zones of bags [first, last); a zone without the target generator (a global zone) sets defaults."""
    zones, default_keys, default_vels = [], (0, 127), (0, 127)
    for b in range(first, last):
        keys, vels, target = default_keys, default_vels, None
        for oper, amount in gens[bags[b][0] : bags[b + 1][0]]:
            if oper == GEN_KEY_RANGE:
                keys = (amount & 0xFF, amount >> 8)
            elif oper == GEN_VEL_RANGE:
                vels = (amount & 0xFF, amount >> 8)
            elif oper == target_gen:
                target = amount
        if target is None:
            if b == first:
                default_keys, default_vels = keys, vels
            continue
        zones.append(Zone(keys, vels, target))
    return zones


class SoundFont:
    """Preset -> sample lookup for one .sf2/.sf3 file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        c = _read_pdta(self.path)
        self._phdr, self._pbag, self._pgen = c[b"phdr"], c[b"pbag"], c[b"pgen"]
        self._inst, self._ibag, self._igen, self._shdr = c[b"inst"], c[b"ibag"], c[b"igen"], c[b"shdr"]

    @cached_property
    def presets(self) -> dict[tuple[int, int], tuple[str, list[Zone]]]:
        """(bank, program) -> (preset name, preset zones targeting instruments)."""
        out = {}
        for i in range(len(self._phdr) - 1):  # the last record is the terminal 'EOP'
            name, program, bank, bag, *_ = self._phdr[i]
            out[(bank, program)] = (
                _name(name),
                _zones(self._pbag, self._pgen, bag, self._phdr[i + 1][3], GEN_INSTRUMENT),
            )
        return out

    def _instrument_zones(self, index: int) -> list[Zone]:
        return _zones(self._ibag, self._igen, self._inst[index][1], self._inst[index + 1][1], GEN_SAMPLE_ID)

    def sample_names(self, program: int, key: int, velocity: int, bank: int = 0) -> frozenset[str]:
        """Names of the samples that sound for this note (empty when the preset has nothing there)."""
        if (bank, program) not in self.presets:
            raise SoundFontError(f"{self.path}: no preset {bank}:{program}")
        names = set()
        for pz in self.presets[(bank, program)][1]:
            if not pz.covers(key, velocity):
                continue
            for iz in self._instrument_zones(pz.target):
                if iz.covers(key, velocity):
                    names.add(_name(self._shdr[iz.target][0]))
        return frozenset(names)

    def key_cells(
        self, program: int, velocity: int, lo: int = 0, hi: int = 127, bank: int = 0
    ) -> list[tuple[int, int, frozenset[str]]]:
        """Maximal runs of keys in [lo, hi] that play the same sample set: (first key, last key, samples)."""
        cells: list[tuple[int, int, frozenset[str]]] = []
        for key in range(lo, hi + 1):
            names = self.sample_names(program, key, velocity, bank)
            if not names:
                continue
            if cells and cells[-1][2] == names and cells[-1][1] == key - 1:
                cells[-1] = (cells[-1][0], key, names)
            else:
                cells.append((key, key, names))
        return cells
