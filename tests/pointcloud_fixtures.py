"""Real-format inputs for point-cloud tests: Sweet Home 3D catalogs (``.sh3f`` zips of OBJ models and a
``PluginFurnitureCatalog.properties``) written here, a mesh table for the scene fixtures' classes, and simple
meshes as arrays."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import trimesh
import yaml

from foabench.synth.meshes.bank import build_mesh_bank
from foabench.synth.meshes.table import parse_mesh_table


def box_mesh(size: tuple[float, float, float], centre=(0.0, 0.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
    """(vertices, faces) of an axis-aligned box of ``size`` (x, y, z) around ``centre``."""
    box = trimesh.creation.box(extents=size)
    return np.asarray(box.vertices) + np.asarray(centre), np.asarray(box.faces)


def nosed_box_obj(width: float, height: float, depth: float) -> str:
    """OBJ text of a Sweet Home 3D style model (y up, front towards +z): a box with a small nose on its front."""
    body = trimesh.creation.box(extents=(width, height, depth))
    nose = trimesh.creation.box(extents=(width / 4, height / 4, depth / 2))
    nose.apply_translation((0.0, height / 4, depth / 2 + depth / 4))
    return trimesh.util.concatenate([body, nose]).export(file_type="obj")


def write_catalog(path: Path, entries: list[dict], license_line: str = "CC0") -> Path:
    """A ``.sh3f`` catalog: each entry ``{id, name, width, depth, height, obj, rotation?}`` (sizes in cm)."""
    lines = ["# test catalog", "id=Test#catalog", f"license={license_line}", ""]
    with zipfile.ZipFile(path, "w") as zf:
        for n, e in enumerate(entries, 1):
            model = f"test/{e['id']}/{e['id']}.obj"
            zf.writestr(model, e["obj"])
            lines += [f"id#{n}=Test#{e['id']}", f"name#{n}={e['name']}", f"model#{n}=/{model}",
                      f"width#{n}={e['width']}", f"depth#{n}={e['depth']}", f"height#{n}={e['height']}",
                      f"creator#{n}=Tester {n}"]  # fmt: skip
            if e.get("rotation"):
                lines.append(f"modelRotation#{n}={e['rotation']}")
        zf.writestr("PluginFurnitureCatalog.properties", "\n".join(lines) + "\n")
    return path


#: classes of tests.scene_fixtures: bell and dog have shapes (three meshes each, one per split at 60/20/20),
#: drum is shown by a "player", bird has none
TABLE = {
    "catalogs": {"TestCatalog": {"license": "CC0-1.0", "provider": "foabench tests"}},
    "pools": {
        "bells": {"anchor": 0.5, "meshes": [{"catalog": "TestCatalog", "id": f"Test#bell{i}"} for i in range(3)]},
        "dogs": {"anchor": 0.6, "meshes": [{"catalog": "TestCatalog", "id": f"Test#dog{i}"} for i in range(3)]},
    },
    "classes": {
        "bell": {"pool": "bells", "match": "object"},
        "dog": {"pool": "dogs", "match": "object"},
        "drum": {"pool": "dogs", "match": "player"},
        "bird": "none",
    },
}


def build_test_mesh_bank(root: Path) -> Path:
    """``root/meshes``: a mesh bank of six nosed boxes from a catalog written to ``root/furniture``."""
    furniture = root / "furniture"
    furniture.mkdir(parents=True, exist_ok=True)
    entries = [{"id": f"bell{i}", "name": f"Bell {i}", "width": 30 + 5 * i, "depth": 30, "height": 40,
                "obj": nosed_box_obj(2.0, 3.0, 1.0)} for i in range(3)]  # fmt: skip
    entries += [{"id": f"dog{i}", "name": f"Dog {i}", "width": 30, "depth": 60 + 5 * i, "height": 50,
                 "obj": nosed_box_obj(1.0, 1.0, 2.0)} for i in range(3)]  # fmt: skip
    write_catalog(furniture / "TestCatalog.sh3f", entries)
    (root / "table.yaml").write_text(yaml.safe_dump(TABLE))
    build_mesh_bank(root / "meshes", furniture, parse_mesh_table(TABLE), progress=False)
    return root / "meshes"
