"""Measured-RIR test files written for real: 4-channel WAV, SOFA (sofar and raw netCDF4) and MATLAB v7.3/v5.

Every RIR is a delayed plane-wave impulse encoded in AmbiX (:func:`foabench.synth.foa.encode_direction`) plus a
decaying noise tail that starts well after the direct-path window, then converted to the convention under
test with :func:`foabench.synth.foa.from_ambix`.
"""

from __future__ import annotations

import time
from pathlib import Path

import h5py
import numpy as np
import scipy.io
import sofar
import soundfile as sf
from netCDF4 import Dataset

from foabench.synth.foa import direction_of, encode_direction, from_ambix, unit_vector

SR = 32000
FRAMES = 2000
DIRECT_GAIN = 0.5  # N3D first-order channels reach sqrt(3) * 0.5 < 1: no clipping in PCM files
TAIL_START = 200  # samples after the direct path (the DRR window is +/- 2.5 ms = 80 samples at 32 kHz)

# convention -> (channel ordering, normalisation) as SOFA files declare them
SOFA_DECLARATIONS = {
    "ambix": ("acn", "sn3d"),
    "fuma": ("fuma", "fuma"),
    "n3d": ("acn", "n3d"),
    "orthonormal": ("acn", "orthonormal"),
}


def ambix_rir(
    azimuth: float, elevation: float, delay: int, seed: int = 0, frames: int = FRAMES, sr: int = SR
) -> np.ndarray:
    """The AmbiX truth ``(frames, 4)``: impulse at ``delay`` from (azimuth, elevation) plus a noise tail."""
    rir = np.zeros((frames, 4))
    rir[delay] = DIRECT_GAIN * encode_direction(azimuth, elevation)
    start = delay + round(TAIL_START * sr / SR)
    t = np.arange(frames - start)
    tail = np.random.default_rng(seed).standard_normal((t.size, 4)) * 0.05 * np.exp(-t / (0.01 * sr))[:, None]
    rir[start:] += tail
    return rir


def rir_in(convention: str, azimuth: float, elevation: float, delay: int, seed: int = 0, **kw) -> np.ndarray:
    """:func:`ambix_rir` converted to ``convention``."""
    return from_ambix(ambix_rir(azimuth, elevation, delay, seed, **kw), convention)


def write_wav(path: Path, wave: np.ndarray, sr: int = SR, subtype: str = "FLOAT") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), wave, sr, subtype=subtype)
    return path


def global_positions(listener: np.ndarray, view: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Room coordinates of source vectors ``local`` (listener frame) for a listener at ``listener`` facing
    ``view`` with up = +z."""
    x = view / np.linalg.norm(view)
    z = np.array([0.0, 0.0, 1.0])
    y = np.cross(z, x)
    return listener + local @ np.stack([x, y, z])


def write_sofa_sofar(
    path: Path,
    irs: np.ndarray,
    source: np.ndarray,
    listener: np.ndarray,
    *,
    view: np.ndarray | None = None,
    declaration: tuple[str, str] | None = None,
    sr: int = SR,
) -> Path:
    """A SingleRoomSRIR file written by sofar; ``irs`` is ``(M, 4, N)``, the convention (if any) declared in
    the global attributes AmbisonicsChannelOrdering/AmbisonicsNormalization."""
    s = sofar.Sofa("SingleRoomSRIR", mandatory=True)
    m = irs.shape[0]
    s.GLOBAL_RoomType = "dae"
    s.Data_IR = irs
    s.Data_SamplingRate = sr
    s.Data_Delay = np.zeros((1, irs.shape[1]))
    s.SourcePosition = source
    s.ListenerPosition = np.tile(listener, (m, 1))
    s.ReceiverPosition = np.zeros((irs.shape[1], 3, 1))
    if view is not None:
        s.ListenerView = np.asarray(view, dtype=float)[None, :]
    if declaration is not None:
        s.add_attribute("GLOBAL_AmbisonicsChannelOrdering", declaration[0])
        s.add_attribute("GLOBAL_AmbisonicsNormalization", declaration[1])
    s.add_attribute("GLOBAL_RoomGeometry", "none")
    path.parent.mkdir(parents=True, exist_ok=True)
    sofar.write_sofa(str(path), s)
    return path


def write_sofa_generalfir_spherical(path: Path, irs: np.ndarray, az_el_r: np.ndarray, sr: int = SR) -> Path:
    """A GeneralFIR file (sofar) with spherical SourcePosition (deg, deg, m), listener at the origin, and no
    FOA declaration."""
    s = sofar.Sofa("GeneralFIR", mandatory=True)
    s.Data_IR = irs
    s.Data_SamplingRate = sr
    s.Data_Delay = np.zeros((1, irs.shape[1]))
    s.SourcePosition = az_el_r
    s.SourcePosition_Type = "spherical"
    s.SourcePosition_Units = "degree, degree, metre"
    s.ReceiverPosition = np.zeros((irs.shape[1], 3))
    path.parent.mkdir(parents=True, exist_ok=True)
    sofar.write_sofa(str(path), s)
    return path


def write_sofa_spatialscaper(
    path: Path,
    irs: np.ndarray,
    source: np.ndarray,
    mic: np.ndarray,
    declaration: tuple[str, str] | None = ("acn", "sn3d"),
    sr: int = SR,
) -> Path:
    """A SingleRoomSRIR file written with netCDF4 the way SpatialScaper's ``create_srir_sofa`` writes the DCASE
    2025 Task 4 ``room_ir`` files: the convention as ``Data.IR`` attributes ChannelOrdering/Normalization."""
    m, r, n = irs.shape
    path.parent.mkdir(parents=True, exist_ok=True)
    with Dataset(str(path), "w", format="NETCDF4") as root:
        root.Conventions = "SOFA"
        root.Version = "2.1"
        root.SOFAConventions = "SingleRoomSRIR"
        root.SOFAConventionsVersion = "1.0"
        root.APIName = "pysofaconventions"
        root.APIVersion = "0.1.5"
        root.AuthorContact = "someone@example.org"
        root.Organization = "Test Lab"
        root.License = "Use whatever you want"
        root.DataType = "FIR"
        root.DateCreated = time.ctime(0)
        root.DateModified = time.ctime(0)
        root.Title = "db - room"
        root.RoomType = "shoebox"
        root.DatabaseName = "db"
        root.ListenerShortName = "foa"
        root.RoomShortName = "room"
        root.Comment = "N/A"
        for dim, size in (("M", m), ("N", n), ("E", 1), ("R", r), ("I", 1), ("C", 3)):
            root.createDimension(dim, size)

        def var(name: str, dims: tuple[str, ...], value, **attrs) -> None:
            v = root.createVariable(name, "f8", dims)
            for k, a in attrs.items():
                setattr(v, k, a)
            v[:] = value

        cart = {"Units": "metre", "Type": "cartesian"}
        var("ListenerPosition", ("M", "C"), mic, **cart)
        var("ListenerUp", ("I", "C"), np.array([[0, 0, 1]]), **cart)
        var("ListenerView", ("I", "C"), np.array([[1, 0, 0]]), **cart)
        var("EmitterPosition", ("E", "C", "I"), np.zeros((1, 3, 1)), Units="metre", Type="spherical")
        var("SourcePosition", ("M", "C"), source, **cart)
        var("SourceUp", ("I", "C"), np.array([[0, 0, 1]]), **cart)
        var("SourceView", ("I", "C"), np.array([[1, 0, 0]]), **cart)
        var("ReceiverPosition", ("R", "C", "I"), np.zeros((r, 3, 1)), **cart)
        var("Data.SamplingRate", ("I",), [sr], Units="hertz")
        var("Data.Delay", ("I", "R"), np.zeros((1, r)))
        ir_attrs = {} if declaration is None else {"ChannelOrdering": declaration[0], "Normalization": declaration[1]}
        var("Data.IR", ("M", "R", "N"), irs, **ir_attrs)
    return path


# --- MATLAB -------------------------------------------------------------------------------------------------

MAT73_HEADER = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Thu Jan  1 00:00:00 2026 HDF5 schema 1.00 ."


class Mat73Writer:
    """Writes HDF5 the way MATLAB's ``save -v7.3`` does: 512-byte header userblock, arrays transposed,
    cells as object-reference datasets into ``#refs#``, structs as groups, ``MATLAB_class`` attributes."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.f = h5py.File(path, "w", userblock_size=512)
        self.refs = self.f.create_group("#refs#")
        self.count = 0

    def __enter__(self) -> Mat73Writer:
        return self

    def __exit__(self, *exc) -> None:
        self.f.close()
        with open(self.path, "r+b") as fh:  # MATLAB's header: 116 text bytes, subsys offset, version, endian
            fh.write(MAT73_HEADER.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM")

    @staticmethod
    def _tag(obj, cls: str) -> None:
        obj.attrs["MATLAB_class"] = np.bytes_(cls)

    def array(self, group: h5py.Group, name: str, value: np.ndarray) -> h5py.Dataset:
        """A numeric MATLAB array (given in MATLAB orientation; stored transposed)."""
        value = np.atleast_2d(np.asarray(value, dtype=np.float64))
        ds = group.create_dataset(name, data=value.T)
        self._tag(ds, "double")
        return ds

    def cell(self, group: h5py.Group, name: str, items: list[list[np.ndarray]]) -> h5py.Dataset:
        """A 2-D MATLAB cell array ``items[row][col]`` of numeric arrays."""
        refs = np.empty((len(items), len(items[0])), dtype=h5py.ref_dtype)
        for i, row in enumerate(items):
            for j, value in enumerate(row):
                self.count += 1
                refs[i, j] = self.array(self.refs, f"r{self.count}", value).ref
        ds = group.create_dataset(name, data=refs.T)
        self._tag(ds, "cell")
        return ds

    def struct(self, group: h5py.Group, name: str) -> h5py.Group:
        g = group.create_group(name)
        self._tag(g, "struct")
        return g


def tau_cells(convention: str, directions: list[list[np.ndarray]], seed: int, sr: int = SR) -> list[list[np.ndarray]]:
    """TAU-style ``[n_samples x 4 x n_positions]`` arrays for a grid of direction arrays ``[n_positions x 3]``;
    a cell with one position is stored 2-D, as MATLAB drops the trailing singleton dimension."""
    out = []
    for t, row in enumerate(directions):
        out_row = []
        for h, vecs in enumerate(row):
            az, el, _ = direction_of(vecs)
            rirs = [
                rir_in(convention, a, e, 100 + 3 * p, seed=seed + 10 * t + h + p, sr=sr, frames=FRAMES * sr // SR)
                for p, (a, e) in enumerate(zip(np.atleast_1d(az), np.atleast_1d(el), strict=True))
            ]
            arr = np.stack(rirs, axis=2)  # n_samples x 4 x n_positions
            out_row.append(arr[:, :, 0] if arr.shape[2] == 1 else arr)
        out.append(out_row)
    return out


def save_v5_rirdata(path: Path, room_doas: list[list[list[np.ndarray]]]) -> Path:
    """A v5 MAT file holding a struct ``rirdata`` with a struct-array field ``room`` whose elements hold
    ``doa_xyz`` cell arrays (the layout ``rirdata.room(#).doa_xyz`` addresses)."""
    rooms = np.empty((len(room_doas), 1), dtype=[("name", object), ("doa_xyz", object)])
    for k, doas in enumerate(room_doas):
        cell = np.empty((len(doas), len(doas[0])), dtype=object)
        for i, row in enumerate(doas):
            for j, value in enumerate(row):
                cell[i, j] = value
        rooms[k, 0] = (f"room{k + 1}", cell)
    scipy.io.savemat(str(path), {"rirdata": {"room": rooms}})
    return path


def random_directions(n: int, seed: int, positions: bool = False) -> np.ndarray:
    """``n`` direction vectors ``(n, 3)``: unit vectors, or positions 1.5 to 3 m away when ``positions``."""
    rng = np.random.default_rng(seed)
    v = unit_vector(rng.uniform(-179, 179, n), rng.uniform(-60, 60, n))
    return v * rng.uniform(1.5, 3.0, (n, 1)) if positions else v
