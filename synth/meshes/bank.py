"""Building a mesh bank from Sweet Home 3D catalogs and the class-to-mesh table.

Each table mesh is read from its catalog, brought into foabench's object frame at the catalog's size, and stored
as ``POOL/ID.npz`` with its licence, author and the classes it stands for. Resumable like every bank build.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tqdm import tqdm

from foabench.synth.audio_io import sha256_file
from foabench.synth.banks.format import MeshRecord
from foabench.synth.banks.writer import BankWriter, BuildResult
from foabench.synth.meshes.mesh_io import write_mesh
from foabench.synth.meshes.sweethome3d import (
    DEBIAN_PACKAGE,
    DEFAULT_FURNITURE_DIR,
    CatalogError,
    load_entry_mesh,
    read_catalog,
)
from foabench.synth.meshes.table import MeshTable, load_mesh_table


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


def build_mesh_bank(out: str | Path, furniture_dir: str | Path = DEFAULT_FURNITURE_DIR, table: MeshTable | None = None,
                    name: str = "meshes", progress: bool = True) -> BuildResult:  # fmt: skip
    """Write the mesh bank of ``table`` (default: the shipped one) from the catalogs in ``furniture_dir``."""
    table = table or load_mesh_table()
    furniture_dir = Path(furniture_dir)
    catalogs = {}
    for stem in sorted({m.catalog for m in table.meshes()}):
        path = furniture_dir / f"{stem}.sh3f"
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: no such catalog; install Debian's {DEBIAN_PACKAGE} (apt-get install {DEBIAN_PACKAGE}) "
                "or pass --furniture DIR"
            )
        catalogs[stem] = (path, read_catalog(path))
    writer = BankWriter(out, name, "meshes", 0, description="3D meshes of sound sources (Sweet Home 3D catalogs)")
    writer.claim(source_root=furniture_dir)
    records = []
    for entry in tqdm(table.meshes(), desc="meshes", unit="mesh", disable=not progress):
        path, listing = catalogs[entry.catalog]
        origin = f"sweethome3d:{entry.catalog}:{entry.id}"
        item = listing.get(entry.id)
        if item is None:
            writer.skip(origin, "not in catalog", f"{path.name} lists no {entry.id!r}")
            continue
        pool = table.pools[entry.pool]
        info = table.catalogs[entry.catalog]
        params = json.dumps([item.model, item.size_cm, item.rotation, pool["anchor"], table.classes_of_pool(entry.pool),
                             sha256_file(path)])  # fmt: skip
        rec = writer.reuse(origin, params)
        if rec is None:
            try:
                vertices, faces = load_entry_mesh(path, item)
            except CatalogError as exc:
                writer.skip(origin, "unreadable", str(exc))
                continue
            rel = f"{_slug(entry.pool)}/{_slug(entry.id)}.npz"
            write_mesh(Path(writer.root) / rel, vertices, faces)
            rec = MeshRecord(
                path=rel,
                sha256=sha256_file(Path(writer.root) / rel),
                name=item.name,
                pool=entry.pool,
                classes=table.classes_of_pool(entry.pool),
                anchor=float(pool["anchor"]),
                size_m=[round(s / 100.0, 4) for s in (item.size_cm[1], item.size_cm[0], item.size_cm[2])],
                num_vertices=len(vertices),
                num_faces=len(faces),
                license=str(info["license"]),
                attribution=f"{item.name!r} by {item.creator or 'unknown'}; {info.get('provider', '')}; "
                f"from Debian's {DEBIAN_PACKAGE} ({path.name})",
                split_group=origin,
                origin=origin,
                extra={
                    "catalog": entry.catalog,
                    "catalog_id": entry.id,
                    "model": item.model,
                    "size_cm": list(item.size_cm),
                },
            )
            writer.journal(origin, params, rec)
        records.append(rec)
    no_shape = sorted(c for c, s in table.classes.items() if s is None)
    return writer.finish(records, {"classes_without_shape": no_shape})
