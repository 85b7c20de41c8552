"""Reading cell arrays of numeric arrays from MATLAB files: v7.3 (HDF5, via h5py) and v5 (scipy.io.loadmat).

MATLAB v7.3 files are HDF5 with a 512-byte header: h5py sees every array transposed (MATLAB's
``[a x b x c]`` is stored as ``(c, b, a)``), a cell array is a dataset of object references (into the
``#refs#`` group), a struct is a group of fields (a struct *array* is a group whose fields are reference
datasets), and each object carries a ``MATLAB_class`` attribute. Everything returned here is in MATLAB's
orientation.

Variables are named by a path such as ``rirs/foa``, ``doa_xyz`` or ``rirdata.room(3).doa_xyz``: fields
separated by ``/`` or ``.``, each optionally indexed by a 1-based MATLAB linear index ``(k)``; ``(#)`` stands
for a number given by the caller (the room number of a TAU-SRIR DB file name).
"""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np
import scipy.io

_SEGMENT = re.compile(r"^([A-Za-z_]\w*)(?:\((\d+|#)\))?$")


def parse_var_path(text: str, number: int | None = None) -> list[tuple[str, int | None]]:
    """``'rirdata.room(#).doa_xyz'`` -> ``[('rirdata', None), ('room', number), ('doa_xyz', None)]``."""
    segments: list[tuple[str, int | None]] = []
    for part in (p for p in re.split(r"[./]", text.strip()) if p):
        m = _SEGMENT.match(part)
        if m is None:
            raise ValueError(f"variable path {text!r}: cannot read {part!r} (use name, name(k) or name(#))")
        index = m.group(2)
        if index == "#" and number is None:
            raise ValueError(f"variable path {text!r} uses (#) but no number is known for this file")
        value = None if index is None else number if index == "#" else int(index)
        if value is not None and value < 1:
            raise ValueError(f"variable path {text!r}: MATLAB indices start at 1")
        segments.append((m.group(1), value))
    if not segments:
        raise ValueError("empty variable path")
    return segments


def is_v73(path: str | Path) -> bool:
    """True for a MATLAB v7.3 (HDF5) file."""
    return h5py.is_hdf5(str(path))


def _is_ref(ds: h5py.Dataset) -> bool:
    return h5py.check_dtype(ref=ds.dtype) is not None


def h5_leaf(f: h5py.File, node: h5py.Dataset) -> h5py.Dataset:
    """Follow cells holding a single element down to a numeric dataset."""
    while isinstance(node, h5py.Dataset) and _is_ref(node) and node.size == 1:
        node = f[node[()].ravel()[0]]
    return node


def h5_array(ds: h5py.Dataset) -> np.ndarray:
    """A numeric MATLAB array in MATLAB's orientation (an empty array for MATLAB's empty placeholders)."""
    if ds.attrs.get("MATLAB_empty", 0):
        return np.zeros((0, 0))
    return np.asarray(ds[()]).T


def h5_element(f: h5py.File, ds: h5py.Dataset, index: int) -> h5py.Dataset | h5py.Group:
    """Element ``index`` (1-based, MATLAB linear order) of a cell or struct-array field."""
    if not _is_ref(ds):
        raise ValueError(f"{ds.name}: cannot index a numeric array; expected a cell or struct array")
    refs = ds[()].ravel()  # C order of the transposed array = MATLAB's column-major order
    if index > refs.size:
        raise ValueError(f"{ds.name}: index {index} beyond its {refs.size} elements")
    return f[refs[index - 1]]


def h5_lookup(f: h5py.File, segments: list[tuple[str, int | None]]) -> h5py.Dataset | h5py.Group:
    """The object named by ``segments`` in an open v7.3 file (KeyError when absent)."""
    node: h5py.Dataset | h5py.Group = f
    pending: int | None = None  # index into a struct array, applied to the next field
    for name, index in segments:
        if not isinstance(node, h5py.Group) or name not in node:
            raise KeyError(f"no variable {name!r} in {node.name}")
        node = node[name]
        if pending is not None:
            node, pending = h5_element(f, node, pending), None
        if index is not None:
            if isinstance(node, h5py.Group):
                pending = index
            else:
                node = h5_element(f, node, index)
    return node


def h5_cell(f: h5py.File, node: h5py.Dataset | h5py.Group) -> np.ndarray:
    """A cell array's elements as an object array (MATLAB shape) of numeric datasets, not yet read."""
    if not isinstance(node, h5py.Dataset) or not _is_ref(node):
        raise ValueError(f"{node.name} is not a MATLAB cell array (MATLAB_class {node.attrs.get('MATLAB_class')!r})")
    refs = np.asarray(node[()]).T
    out = np.empty(refs.shape, dtype=object)
    for idx in np.ndindex(refs.shape):
        out[idx] = h5_leaf(f, f[refs[idx]])
    return out


def _v5_lookup(data: dict, segments: list[tuple[str, int | None]], where: str) -> object:
    node: object = data
    for name, index in segments:
        if isinstance(node, np.ndarray) and node.dtype.names:
            if node.size != 1:
                raise ValueError(f"{where}: {name!r} is a field of a {node.shape} struct array; index it, e.g. (1)")
            node = node.ravel()[0]
        try:
            node = node[name]  # type: ignore[index]
        except (KeyError, ValueError, IndexError, TypeError):
            raise KeyError(f"no variable {name!r}") from None
        if index is not None:
            flat = np.asarray(node).ravel(order="F")
            if index > flat.size:
                raise ValueError(f"{where}: index {index} of {name!r} beyond its {flat.size} elements")
            node = flat[index - 1]
    return node


def _unwrap(value: object) -> np.ndarray:
    """A v5 cell element as a numeric array (cells holding one element are opened)."""
    while isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        value = value.ravel()[0]
    return np.asarray(value, dtype=np.float64)


def _map_cell(func, cell: np.ndarray) -> np.ndarray:
    out = np.empty(cell.shape, dtype=object)
    for idx in np.ndindex(cell.shape):
        out[idx] = func(cell[idx])
    return out


def read_cell(path: str | Path, var_path: str, number: int | None = None) -> np.ndarray:
    """A cell array of numeric arrays from a v7.3 or v5 MAT file, as an object array in MATLAB orientation.

    A numeric (non-cell) variable is returned as a 1x1 cell. Raises KeyError when the variable is absent."""
    segments = parse_var_path(var_path, number)
    if is_v73(path):
        with h5py.File(path, "r") as f:
            node = h5_lookup(f, segments)
            if isinstance(node, h5py.Dataset) and not _is_ref(node):
                cell = np.empty((1, 1), dtype=object)
                cell[0, 0] = h5_array(node)
                return cell
            return _map_cell(h5_array, h5_cell(f, node))
    value = _v5_lookup(scipy.io.loadmat(str(path)), segments, f"{path}:{var_path}")
    if isinstance(value, np.ndarray) and value.dtype == object:
        return _map_cell(_unwrap, np.atleast_2d(value))
    cell = np.empty((1, 1), dtype=object)
    cell[0, 0] = _unwrap(value)
    return cell
