"""Benchmark definitions: which banks, which scene rules, which seeds and how many mixtures per split.

A definition is a YAML (or JSON) mapping, shipped (``starter-v1`` in ``synth/scenes/benchmarks/``) or written
by a user::

    name: starter-v1          # what results and leaderboards call it
    version: 1
    description: ...
    duration_rationale: ...   # why the mixtures are as long as they are
    banks:                    # folder name under DIR/banks -> how to build it
      starter: {builder: starter}                      # optional classes, max_per_class
      rooms: {builder: simulated, spec: {rooms: 120, rirs_per_room: 6, seed: 1}}   # a RoomSpec
      noise: {builder: starter-noise, seed: 0}
      mine: {builder: folder, path: ../my-bank}       # an existing bank, copied (relative to the file)
    scene: {...}              # a scene spec (synth/scenes/spec.py), inline so the definition is complete
    splits:
      val: {mixtures: 100, seed: 1}                    # fixed manifests, rendered with their references
      test: {mixtures: 300, seed: 2}
      train: dynamic                                   # drawn on the fly from the training groups
    render: {references: [direct, dry]}                # which reference files the rendered splits carry

Every split of the scene spec's ``splits`` fractions is named under ``splits``: a fixed split gets
``mixtures`` and ``seed``; ``dynamic`` marks a split used only for dynamic mixing (its groups are recorded).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from foabench.synth.rooms.sampler import RoomSpec
from foabench.synth.rooms.simulate import RoomError
from foabench.synth.scenes.render import REFERENCES
from foabench.synth.scenes.spec import SceneSpec, SpecError, parse_spec
from foabench.synth.yaml_source import read_yaml_source

SHIPPED = ("starter-v1",)
BUILDERS = ("starter", "simulated", "starter-noise", "folder")
DEFINITION_VERSION = 1


class DefinitionError(ValueError):
    """A benchmark definition that cannot be used (named field and reason)."""


@dataclass(frozen=True)
class BankPlan:
    """How one bank of a benchmark is obtained."""

    key: str  # folder name under DIR/banks
    builder: str
    options: dict  # builder arguments (a RoomSpec's fields for ``simulated``)
    path: Path | None = None  # the source folder of a ``folder`` bank, resolved


@dataclass(frozen=True)
class FixedSplit:
    name: str
    mixtures: int
    seed: int


@dataclass(frozen=True)
class Definition:
    """A parsed benchmark definition; :attr:`data` is the mapping it was parsed from."""

    name: str
    version: int
    banks: tuple[BankPlan, ...]
    scene: SceneSpec
    fixed: tuple[FixedSplit, ...]
    dynamic: tuple[str, ...]
    references: tuple[str, ...]
    data: dict

    @property
    def sha256(self) -> str:
        """Hash of the definition's JSON (what ``benchmark.json`` records)."""
        return definition_sha256(self.data)

    def split(self, name: str) -> FixedSplit:
        for s in self.fixed:
            if s.name == name:
                return s
        raise DefinitionError(f"benchmark {self.name!r} has no fixed split {name!r} (have {self.split_names()})")

    def split_names(self) -> list[str]:
        return [s.name for s in self.fixed]


def definition_sha256(data: dict) -> str:
    """sha256 of the definition's JSON in its own key order (the order of ``scene.splits`` matters: it deals the
    groups to the splits)."""
    return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()


def _bank_plan(key: str, value: object, base: Path | None, where: str) -> BankPlan:
    if not isinstance(value, dict) or value.get("builder") not in BUILDERS:
        raise DefinitionError(f"{where}.banks.{key}: a mapping with builder one of {list(BUILDERS)}")
    builder = value["builder"]
    options = {k: v for k, v in value.items() if k != "builder"}
    allowed = {
        "starter": {"classes", "max_per_class"},
        "simulated": {"spec"},
        "starter-noise": {"seed"},
        "folder": {"path"},
    }[builder]
    if set(options) - allowed:
        raise DefinitionError(
            f"{where}.banks.{key}: {builder} takes {sorted(allowed)}, not {sorted(set(options) - allowed)}"
        )
    if builder == "simulated":
        try:
            RoomSpec.from_dict(dict(options.get("spec") or {}))
        except (RoomError, TypeError) as exc:
            raise DefinitionError(f"{where}.banks.{key}.spec: {exc}") from exc
    path = None
    if builder == "folder":
        if not isinstance(options.get("path"), str):
            raise DefinitionError(f"{where}.banks.{key}: a folder bank needs path")
        path = Path(options["path"])
        if not path.is_absolute():
            if base is None:
                raise DefinitionError(f"{where}.banks.{key}: a shipped definition cannot name a relative path")
            path = base / path
        path = path.resolve()
    if "/" in key or key.startswith(".") or not key:
        raise DefinitionError(f"{where}.banks: {key!r} is not a folder name")
    return BankPlan(key, builder, options, path)


def parse_definition(data: dict, where: str = "definition", base: Path | None = None) -> Definition:
    """Validate a definition mapping (``base``: the folder relative bank paths start from)."""
    known = {"name", "version", "description", "duration_rationale", "banks", "scene", "splits", "render",
             "definition_version"}  # fmt: skip
    if not isinstance(data, dict):
        raise DefinitionError(f"{where}: a benchmark definition is a mapping")
    if set(data) - known:
        raise DefinitionError(f"{where}: unknown keys {sorted(set(data) - known)}; known: {sorted(known)}")
    version = data.get("definition_version", DEFINITION_VERSION)
    if not isinstance(version, int) or version > DEFINITION_VERSION:
        raise DefinitionError(
            f"{where}: definition_version {version!r}; this foabench reads up to {DEFINITION_VERSION}"
        )
    name = data.get("name")
    if not isinstance(name, str) or not name or "/" in name:
        raise DefinitionError(f"{where}.name: a non-empty name without '/'")
    banks = data.get("banks")
    if not isinstance(banks, dict) or not banks:
        raise DefinitionError(f"{where}.banks: a mapping of bank folder name to its builder")
    plans = tuple(_bank_plan(str(k), v, base, where) for k, v in banks.items())
    try:
        scene = parse_spec(data.get("scene") or {}, name=f"{where}.scene")
    except SpecError as exc:
        raise DefinitionError(str(exc)) from exc
    splits = data.get("splits")
    spec_splits = [s for s, _ in scene.splits]
    if not isinstance(splits, dict) or set(splits) != set(spec_splits):
        raise DefinitionError(f"{where}.splits: name every split of the scene spec ({spec_splits}), "
                              f"got {sorted(splits) if isinstance(splits, dict) else splits!r}")  # fmt: skip
    fixed, dynamic = [], []
    for split in spec_splits:
        value = splits[split]
        if value == "dynamic":
            dynamic.append(split)
            continue
        if not (isinstance(value, dict) and set(value) == {"mixtures", "seed"} and isinstance(value["mixtures"], int)
                and value["mixtures"] >= 1 and isinstance(value["seed"], int)):  # fmt: skip
            raise DefinitionError(f"{where}.splits.{split}: 'dynamic' or {{mixtures: N >= 1, seed: INT}}")
        fixed.append(FixedSplit(split, value["mixtures"], value["seed"]))
    if not fixed:
        raise DefinitionError(f"{where}.splits: at least one fixed split (with mixtures and seed)")
    render = data.get("render") or {}
    if set(render) - {"references"}:
        raise DefinitionError(f"{where}.render: unknown keys {sorted(set(render) - {'references'})}")
    references = tuple(render.get("references", REFERENCES))
    if not references or set(references) - set(REFERENCES) or "direct" not in references:
        raise DefinitionError(f"{where}.render.references: some of {list(REFERENCES)}, including direct")
    return Definition(name, int(data.get("version", 1)), plans, scene, tuple(fixed), tuple(dynamic),
                      references, json.loads(json.dumps(data)))  # fmt: skip


def load_definition(name_or_path: str | Path) -> Definition:
    """A shipped definition by name (``starter-v1``) or a YAML/JSON file."""
    data, where, base = read_yaml_source(name_or_path, "foabench.synth.scenes.benchmarks", SHIPPED,
                                         "benchmark definition", DefinitionError)  # fmt: skip
    return parse_definition(data, where, base)
