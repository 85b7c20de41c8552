"""``foabench bank meshes``: build a mesh bank (3D shapes of sound sources for point-cloud queries)."""

from __future__ import annotations

import argparse

from foabench.synth.meshes.bank import build_mesh_bank
from foabench.synth.meshes.sweethome3d import DEFAULT_FURNITURE_DIR
from foabench.synth.meshes.table import load_mesh_table


def _cmd_meshes(args: argparse.Namespace) -> int:
    table = load_mesh_table(args.table)
    result = build_mesh_bank(args.out, args.furniture, table, name=args.name, progress=not args.no_progress)
    pools = sorted({r.pool for r in result.records})
    print(f"{result.root}: {len(result.records)} meshes in {len(pools)} pools ({', '.join(pools)}), "
          f"{len(result.skipped)} skipped; classes without a shape: "
          f"{', '.join(sorted(c for c, s in table.classes.items() if s is None)) or 'none'}")  # fmt: skip
    return 0


def register(cmds: argparse._SubParsersAction) -> None:
    """Add ``meshes`` to the ``bank`` command group."""
    p = cmds.add_parser("meshes", help="build a mesh bank from Sweet Home 3D catalogs and the class-to-mesh table")
    p.add_argument("--out", required=True, help="bank folder to write")
    p.add_argument("--furniture", default=str(DEFAULT_FURNITURE_DIR),
                   help=f"folder of .sh3f catalogs (default: {DEFAULT_FURNITURE_DIR}, from Debian's "
                        "sweethome3d-furniture)")  # fmt: skip
    p.add_argument("--table", default=None, help="a class-to-mesh table (YAML; default: the shipped one)")
    p.add_argument("--name", default="meshes", help="bank name (default: meshes)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_meshes)
