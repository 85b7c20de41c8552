"""The class-to-mesh table (``mesh_table.yaml``): which real meshes stand for which sound classes, and how.

See the shipped table for the meaning of pools, ``match`` (object / similar / player) and ``anchor``. A user table
with the same layout replaces it (``foabench bank meshes --table FILE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from foabench.synth.yaml_source import read_yaml_source

MATCHES = ("object", "similar", "player")
SHIPPED_TABLE = "mesh_table"


class MeshTableError(ValueError):
    """A class-to-mesh table that cannot be used as written."""


@dataclass(frozen=True)
class MeshEntry:
    """One mesh of the table: its catalog (file stem) and the catalog's id for it, in a pool."""

    catalog: str
    id: str
    pool: str


@dataclass(frozen=True)
class ClassShape:
    """How one class is shown: a pool of meshes and the kind of match (``object``, ``similar``, ``player``)."""

    pool: str
    match: str


@dataclass(frozen=True)
class MeshTable:
    catalogs: dict[str, dict]  # catalog stem -> {license, provider}
    pools: dict[str, dict]  # pool -> {anchor, meshes: [MeshEntry]}
    classes: dict[str, ClassShape | None]  # class -> shape (None: no shape, said so)

    def meshes(self) -> list[MeshEntry]:
        return [m for pool in self.pools.values() for m in pool["meshes"]]

    def classes_of_pool(self, pool: str) -> dict[str, str]:
        """``{class: match}`` of the classes shown by ``pool``."""
        return {c: s.match for c, s in sorted(self.classes.items()) if s is not None and s.pool == pool}


def parse_mesh_table(data: dict, where: str = "mesh table") -> MeshTable:
    """Validate a table mapping; every problem names its field."""
    if not isinstance(data, dict) or set(data) - {"catalogs", "pools", "classes"}:
        raise MeshTableError(f"{where}: a mapping with catalogs, pools and classes")
    catalogs = data.get("catalogs") or {}
    for name, info in catalogs.items():
        if not isinstance(info, dict) or not info.get("license"):
            raise MeshTableError(f"{where}.catalogs.{name}: needs a license")
    pools: dict[str, dict] = {}
    seen: set[tuple[str, str]] = set()
    for pool, info in (data.get("pools") or {}).items():
        w = f"{where}.pools.{pool}"
        if not isinstance(info, dict) or not isinstance(info.get("meshes"), list) or not info["meshes"]:
            raise MeshTableError(f"{w}: needs anchor and a non-empty list of meshes")
        anchor = float(info.get("anchor", 0.5))
        if not 0.0 <= anchor <= 1.0:
            raise MeshTableError(f"{w}.anchor: a share of the mesh's height within [0, 1], got {anchor}")
        entries = []
        for m in info["meshes"]:
            if not isinstance(m, dict) or set(m) != {"catalog", "id"}:
                raise MeshTableError(f"{w}: each mesh is {{catalog, id}}, got {m!r}")
            if m["catalog"] not in catalogs:
                raise MeshTableError(f"{w}: catalog {m['catalog']!r} is not listed under catalogs")
            key = (str(m["catalog"]), str(m["id"]))
            if key in seen:
                raise MeshTableError(f"{w}: mesh {key[1]!r} is in two pools (a mesh belongs to one pool)")
            seen.add(key)
            entries.append(MeshEntry(key[0], key[1], str(pool)))
        pools[str(pool)] = {"anchor": anchor, "meshes": entries}
    classes: dict[str, ClassShape | None] = {}
    for name, shape in (data.get("classes") or {}).items():
        if shape in (None, "none"):
            classes[str(name)] = None
            continue
        if not isinstance(shape, dict) or shape.get("pool") not in pools or shape.get("match") not in MATCHES:
            raise MeshTableError(f"{where}.classes.{name}: {{pool: <a pool>, match: {' | '.join(MATCHES)}}} or none")
        classes[str(name)] = ClassShape(shape["pool"], shape["match"])
    return MeshTable(dict(catalogs), pools, classes)


def load_mesh_table(path: str | Path | None = None) -> MeshTable:
    """The shipped table, or a user's YAML file with the same layout."""
    name = SHIPPED_TABLE if path is None else path
    data, where, _ = read_yaml_source(name, "foabench.synth.meshes", (SHIPPED_TABLE,), "mesh table", MeshTableError)
    return parse_mesh_table(data, where)
