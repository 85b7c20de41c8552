"""Reading meshes out of Sweet Home 3D furniture catalogs (``*.sh3f``, as Debian's ``sweethome3d-furniture`` ships).

A catalog is a zip of OBJ models plus ``PluginFurnitureCatalog.properties``, which lists each piece as numbered
keys (``id#7``, ``model#7``, ``width#7`` …; sizes in centimetres, an optional ``modelRotation#7``). Sweet Home 3D
models are y-up with their front facing +z; each is stretched to the catalog's width × height × depth. foabench's
object frame is the microphone's convention applied to the object: x forward (out of its front), y to its left,
z up, in metres, with the footprint centred on the origin and the base at z = 0.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_FURNITURE_DIR = Path("/usr/share/sweethome3d/furniture")
PROPERTIES = "PluginFurnitureCatalog.properties"
DEBIAN_PACKAGE = "sweethome3d-furniture"


class CatalogError(ValueError):
    """A catalog or catalog entry that cannot be read."""


@dataclass(frozen=True)
class CatalogEntry:
    """One piece of furniture as its catalog lists it."""

    id: str
    name: str
    model: str  # path of the OBJ inside the zip
    size_cm: tuple[float, float, float]  # width (x), depth (z), height (y) as Sweet Home 3D names them
    creator: str
    rotation: tuple[float, ...] | None  # 3x3 row-major modelRotation, or None


def _unescape(value: str) -> str:
    value = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), value)
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), value)


def parse_properties(text: str) -> dict[str, str]:
    """A Java ``.properties`` text as a dict (comments, continuation lines and ``\\uXXXX`` escapes handled)."""
    out: dict[str, str] = {}
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.lstrip() if pending else raw.strip()
        if line.endswith("\\") and not line.endswith("\\\\"):
            pending = line[:-1]
            continue
        pending = ""
        if not line or line[0] in "#!":
            continue
        m = re.search(r"(?<!\\)[=:]", line)
        key, value = (line[: m.start()], line[m.end() :]) if m else (line, "")
        out[_unescape(key.strip())] = _unescape(value.strip())
    return out


def read_catalog(path: str | Path) -> dict[str, CatalogEntry]:
    """Every entry of one ``.sh3f`` catalog by its id."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            text = zf.read(PROPERTIES).decode("latin-1")
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        raise CatalogError(f"{path}: not a Sweet Home 3D catalog ({exc})") from exc
    props = parse_properties(text)
    entries: dict[str, CatalogEntry] = {}
    for key, value in props.items():
        m = re.fullmatch(r"id#(\d+)", key)
        if not m:
            continue
        n = m.group(1)
        try:
            size = tuple(float(props[f"{k}#{n}"]) for k in ("width", "depth", "height"))
            rotation = props.get(f"modelRotation#{n}")
            entries[value] = CatalogEntry(
                id=value,
                name=props.get(f"name#{n}", value),
                model=props[f"model#{n}"].lstrip("/"),
                size_cm=size,  # type: ignore[arg-type]
                creator=props.get(f"creator#{n}", ""),
                rotation=tuple(float(x) for x in rotation.split()) if rotation else None,
            )
        except (KeyError, ValueError) as exc:
            raise CatalogError(f"{path}: entry {value!r} lacks a model or size ({exc})") from exc
    return entries


def load_entry_mesh(catalog_path: str | Path, entry: CatalogEntry) -> tuple[np.ndarray, np.ndarray]:
    """(vertices (V, 3) float64 in metres in foabench's object frame, faces (F, 3) int64) of one catalog entry."""
    import trimesh  # imported here: only building a mesh bank needs it

    with zipfile.ZipFile(catalog_path) as zf:
        try:
            data = zf.read(entry.model)
        except KeyError as exc:
            raise CatalogError(f"{catalog_path}: {entry.id!r} names {entry.model}, which the catalog lacks") from exc
    mesh = trimesh.load(io.BytesIO(data), file_type="obj", process=False, skip_materials=True, force="mesh")
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces, dtype=np.int64)
    if len(vertices) == 0 or len(faces) == 0:
        raise CatalogError(f"{catalog_path}: {entry.id!r} ({entry.model}) has no triangles")
    return to_object_frame(vertices, entry.size_cm, entry.rotation), faces


def to_object_frame(vertices: np.ndarray, size_cm: tuple[float, float, float],
                    rotation: tuple[float, ...] | None = None) -> np.ndarray:  # fmt: skip
    """Sweet Home 3D model coordinates -> foabench's object frame (x forward, y left, z up; metres), stretched to
    the catalog's width × depth × height like Sweet Home 3D does, footprint centred, base at z = 0."""
    v = vertices if rotation is None else vertices @ np.asarray(rotation, dtype=np.float64).reshape(3, 3).T
    lo, hi = v.min(axis=0), v.max(axis=0)
    extent = np.where(hi - lo > 0, hi - lo, 1.0)
    width, depth, height = (s / 100.0 for s in size_cm)
    unit = (v - lo) / extent  # each axis in [0, 1]
    x_sh = (unit[:, 0] - 0.5) * width
    y_sh = unit[:, 1] * height
    z_sh = (unit[:, 2] - 0.5) * depth
    return np.stack([z_sh, x_sh, y_sh], axis=1)  # forward = +z_sh, left = +x_sh, up = +y_sh
