"""Scene specs: the distributions a split's mixtures are drawn from (YAML or JSON), in the spirit of Scaper.

``queries``: ``text`` (``caption``: the target clip's caption, a class phrase when it has none; or
``template``: always a class phrase) and ``recipe`` (a pseudo-query recipe of :mod:`foabench.synth.queries.pseudo`,
e.g. ``{name: gaussian, sigma: 0.126}``), recorded per target with its own seed.
Per role (``targets``, ``interferers``): ``count`` (targets may be 0: a mixture of interferers and noise only),
``classes``, ``repeat_classes``, ``snr_db``, and optionally ``duration_s`` (excerpt length; default the whole
clip, capped at ``max_event_s``; always within [``min_event_s``, clip length]) and ``onset_s`` (default uniform
over the onsets that keep the event inside the mixture; a drawn onset is clamped so the event ends by the
mixture's end).
A distribution is written ``{dist: NAME, ...}``: ``const`` (``value``), ``choose`` (``values``), ``uniform``
(``low``, ``high``), ``normal`` (``mean``, ``std``) or ``truncnorm`` (``mean``, ``std``, ``low``, ``high``);
a bare number means ``const``. ``targets.duplicates`` (``rate``, ``max``, ``min_angle_deg``) allows same-class
targets as DCASE 2026 does: a mixture of ``n >= 2`` targets has duplicates with probability ``rate``; then
``k``, uniform in ``1 .. min(n - 1, max)``, of its targets repeat classes of the other ``n - k`` (distinct
classes), each from another recording of its class (another split group when the split has one, another clip
otherwise) and at least ``min_angle_deg`` from every target of its class.
Shipped specs: ``dcase2025`` (the DCASE 2025 Task 4 recipe: 10 s at 32 kHz, 1-3 targets of distinct classes at
5-20 dB, 0-2 interferers at 0-15 dB, one room per mixture, diffuse background), ``dcase2026`` (the same with
0-3 targets and same-class duplicates) and ``tiny`` (short mixtures for tests and the demo).
``foabench scenes --spec NAME_OR_FILE``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from foabench.synth.pointclouds.sensor import DepthSensor
from foabench.synth.scenes.direction_query import MODELS as DIRECTION_MODELS
from foabench.synth.scenes.direction_query import DirectionQuerySpec
from foabench.synth.scenes.pointcloud_query import PointcloudQuerySpec
from foabench.synth.scenes.query_plan import make_recipe
from foabench.synth.scenes.region_query import SHAPES as REGION_SHAPES
from foabench.synth.scenes.region_query import RegionQuerySpec
from foabench.synth.yaml_source import read_yaml_source

QUERY_KEYS = {"text", "recipe", "direction", "region", "pointcloud"}

SHIPPED_SPECS = ("dcase2025", "dcase2026", "tiny", "spatial")
DISTRIBUTIONS = {
    "const": ("value",),
    "choose": ("values",),
    "uniform": ("low", "high"),
    "normal": ("mean", "std"),
    "truncnorm": ("mean", "std", "low", "high"),
}


class SpecError(ValueError):
    """A scene spec that cannot be used (named field and reason)."""


@dataclass(frozen=True)
class Dist:
    """One distribution; :meth:`sample` draws from it with the given generator."""

    dist: str
    params: tuple[tuple[str, object], ...]

    @classmethod
    def parse(cls, value: object, where: str) -> Dist:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return cls("const", (("value", value),))
        if not isinstance(value, dict) or "dist" not in value:
            raise SpecError(f"{where}: expected a number or {{dist: ..., ...}}, got {value!r}")
        name = value["dist"]
        if name not in DISTRIBUTIONS:
            raise SpecError(f"{where}: unknown distribution {name!r}; known: {sorted(DISTRIBUTIONS)}")
        need = DISTRIBUTIONS[name]
        extra = set(value) - set(need) - {"dist"}
        missing = [k for k in need if k not in value]
        if missing or extra:
            raise SpecError(f"{where}: {name} takes {list(need)} (missing {missing}, unknown {sorted(extra)})")
        params = {k: value[k] for k in need}
        if name == "choose" and (not isinstance(params["values"], list) or not params["values"]):
            raise SpecError(f"{where}: choose needs a non-empty list of values")
        if name in ("uniform", "truncnorm") and not params["low"] <= params["high"]:
            raise SpecError(f"{where}: low {params['low']} > high {params['high']}")
        if name in ("normal", "truncnorm") and not params["std"] >= 0:
            raise SpecError(f"{where}: std must be >= 0")
        return cls(name, tuple(params.items()))

    def sample(self, rng: np.random.Generator) -> float:
        p = dict(self.params)
        if self.dist == "const":
            return p["value"]
        if self.dist == "choose":
            return p["values"][int(rng.integers(len(p["values"])))]
        if self.dist == "uniform":
            return float(rng.uniform(p["low"], p["high"]))
        if self.dist == "normal":
            return float(rng.normal(p["mean"], p["std"]))
        for _ in range(1000):  # truncnorm by rejection; the bounds are checked to hold the mean region
            x = float(rng.normal(p["mean"], p["std"]))
            if p["low"] <= x <= p["high"]:
                return x
        return float(np.clip(p["mean"], p["low"], p["high"]))

    def support(self) -> tuple[float, float]:
        """Smallest and largest value the distribution can produce (infinite for an unbounded normal)."""
        p = dict(self.params)
        if self.dist == "const":
            return p["value"], p["value"]
        if self.dist == "choose":
            return min(p["values"]), max(p["values"])
        if self.dist == "normal":
            return -math.inf, math.inf
        return p["low"], p["high"]

    def to_dict(self) -> dict:
        return {"dist": self.dist, **dict(self.params)}


@dataclass(frozen=True)
class Duplicates:
    """Same-class targets in one mixture (DCASE 2026's ``dupse_rate``, ``max_n_dupse``, ``dupse_min_angle``)."""

    rate: float  # probability that a mixture of two or more targets has duplicates
    max: int  # most duplicated targets in one mixture
    min_angle_deg: float  # least angle between two targets of one class


@dataclass(frozen=True)
class EventSpec:
    """How many events of one role, of which classes, at which levels."""

    count: Dist
    snr_db: Dist
    classes: tuple[str, ...] | None  # None: every class the source banks offer
    repeat_classes: bool = False
    duration_s: Dist | None = None  # excerpt length; None: the whole clip (capped at max_event_s)
    onset_s: Dist | None = None  # None: uniform over the onsets that keep the event inside the mixture
    duplicates: Duplicates | None = None  # targets only: same-class targets (None: none)


def _duplicates(data: object, where: str) -> Duplicates | None:
    if data is None:
        return None
    need = {"rate", "max", "min_angle_deg"}
    if not isinstance(data, dict) or set(data) != need:
        raise SpecError(f"{where}: a mapping with exactly {sorted(need)}, got {data!r}")
    rate, most, angle = data["rate"], data["max"], data["min_angle_deg"]
    if not (isinstance(rate, (int, float)) and 0.0 <= rate <= 1.0):
        raise SpecError(f"{where}.rate: a probability within [0, 1], got {rate!r}")
    if not (isinstance(most, int) and not isinstance(most, bool) and most >= 1):
        raise SpecError(f"{where}.max: an integer >= 1, got {most!r}")
    if not (isinstance(angle, (int, float)) and 0.0 <= angle <= 180.0):
        raise SpecError(f"{where}.min_angle_deg: degrees within [0, 180], got {angle!r}")
    return Duplicates(float(rate), most, float(angle))


@dataclass(frozen=True)
class SceneSpec:
    """A whole scene spec (see the module docstring and ``synth/scenes/specs/*.yaml``)."""

    name: str
    sample_rate: int
    duration_s: float
    max_event_s: float
    min_event_s: float
    targets: EventSpec
    interferers: EventSpec
    min_separation_deg: float
    rooms: str  # "any", "simulated" or "measured"
    noise_probability: float
    noise_level_dbfs: Dist
    reference_dbfs: float  # level the events' SNR refers to when a mixture has no noise
    splits: tuple[tuple[str, float], ...] = (("train", 0.8), ("val", 0.1), ("test", 0.1))
    split_seed: int = 0
    query_text: str = "caption"  # "caption" (a template when a clip has none) or "template"
    query_recipe: tuple[tuple[str, object], ...] = (("name", "gaussian"),)
    query_direction: DirectionQuerySpec | None = None  # direction queries (None: the rows record none)
    query_region: RegionQuerySpec | None = None  # region queries (None: the rows record none)
    query_pointcloud: PointcloudQuerySpec | None = None  # point-cloud queries (None: the rows record none)
    raw: dict = field(default_factory=dict, compare=False)

    @property
    def num_frames(self) -> int:
        return round(self.duration_s * self.sample_rate)

    def to_dict(self) -> dict:
        return dict(self.raw)


def _direction_query(data: dict | None, where: str) -> DirectionQuerySpec | None:
    """``queries.direction: {model: vmf | cone, spread_deg: <dist>}`` (see :mod:`.direction_query`)."""
    if data is None:
        return None
    if not isinstance(data, dict) or set(data) - {"model", "spread_deg"}:
        raise SpecError(f"{where}: a mapping with model (vmf or cone) and spread_deg (degrees, a distribution)")
    model = data.get("model", "vmf")
    if model not in DIRECTION_MODELS:
        raise SpecError(f"{where}.model: one of {', '.join(DIRECTION_MODELS)}, got {model!r}")
    spread = Dist.parse(data.get("spread_deg", 10.0), f"{where}.spread_deg")
    lo, hi = spread.support()
    if lo < 0 or hi >= 180:
        raise SpecError(f"{where}.spread_deg: spreads must lie within [0, 180) degrees, got [{lo}, {hi}]")
    return DirectionQuerySpec(model, spread)


def _region_query(data: dict | None, where: str) -> RegionQuerySpec | None:
    """``queries.region: {shape: cone | box, size_deg: <dist>, jitter: 0..1}`` (see :mod:`.region_query`)."""
    if data is None:
        return None
    if not isinstance(data, dict) or set(data) - {"shape", "size_deg", "jitter"}:
        raise SpecError(f"{where}: a mapping with shape (cone or box), size_deg (degrees, a distribution), jitter")
    shape = data.get("shape", "cone")
    if shape not in REGION_SHAPES:
        raise SpecError(f"{where}.shape: one of {', '.join(REGION_SHAPES)}, got {shape!r}")
    size = Dist.parse(data.get("size_deg", 30.0), f"{where}.size_deg")
    lo, hi = size.support()
    if lo <= 0 or hi > 180:
        raise SpecError(f"{where}.size_deg: sizes must lie within (0, 180] degrees, got [{lo}, {hi}]")
    jitter = float(data.get("jitter", 0.5))
    if not 0.0 <= jitter <= 1.0:
        raise SpecError(f"{where}.jitter: within [0, 1] (the share of the size the centre may stray), got {jitter}")
    return RegionQuerySpec(shape, size, jitter)


def _pointcloud_query(data: dict | None, where: str) -> PointcloudQuerySpec | None:
    """``queries.pointcloud: {sensor: {resolution_deg, max_range_m, noise_m, dropout}, yaw_deg: <dist>}`` (see
    :mod:`.pointcloud_query`)."""
    if data is None:
        return None
    if not isinstance(data, dict) or set(data) - {"sensor", "yaw_deg"}:
        raise SpecError(f"{where}: a mapping with sensor (resolution_deg, max_range_m, noise_m, dropout) and yaw_deg")
    try:
        sensor = DepthSensor.from_dict(data.get("sensor") or {})
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{where}.{exc}") from exc
    return PointcloudQuerySpec(sensor, Dist.parse(data.get("yaw_deg", 0.0), f"{where}.yaw_deg"))


def _events(data: dict, where: str, role: str) -> EventSpec:
    if not isinstance(data, dict):
        raise SpecError(f"{where}: expected a mapping")
    known = {"count", "snr_db", "classes", "repeat_classes", "duration_s", "onset_s"} | (
        {"duplicates"} if role == "targets" else set()
    )
    if set(data) - known:
        raise SpecError(f"{where}: unknown keys {sorted(set(data) - known)}")
    classes = data.get("classes", "all")
    if classes != "all" and not (isinstance(classes, list) and all(isinstance(c, str) for c in classes)):
        raise SpecError(f"{where}.classes: 'all' or a list of class names")
    count = Dist.parse(data.get("count", 1), f"{where}.count")
    lo, hi = count.support()
    if lo < 0 or not float(hi).is_integer() or not float(lo).is_integer():
        raise SpecError(f"{where}.count: counts must be non-negative integers")
    return EventSpec(
        count=count,
        snr_db=Dist.parse(data.get("snr_db", 0.0), f"{where}.snr_db"),
        classes=None if classes == "all" else tuple(classes),
        repeat_classes=bool(data.get("repeat_classes", False)),
        duration_s=None if data.get("duration_s") is None else Dist.parse(data["duration_s"], f"{where}.duration_s"),
        onset_s=None if data.get("onset_s") is None else Dist.parse(data["onset_s"], f"{where}.onset_s"),
        duplicates=_duplicates(data.get("duplicates"), f"{where}.duplicates"),
    )


def parse_spec(data: dict, name: str = "spec") -> SceneSpec:
    """Validate a spec mapping; every problem names its field."""
    known = {
        "name", "sample_rate", "duration_s", "max_event_s", "min_event_s", "targets", "interferers",
        "min_separation_deg", "rooms", "noise", "reference_dbfs", "splits", "split_seed", "queries",
    }  # fmt: skip
    unknown = set(data) - known
    if unknown:
        raise SpecError(f"{name}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
    sr = int(data.get("sample_rate", 32000))
    duration = float(data.get("duration_s", 10.0))
    if sr < 8000 or duration <= 0:
        raise SpecError(f"{name}: sample_rate >= 8000 and duration_s > 0 needed")
    noise = data.get("noise", {"probability": 1.0, "level_dbfs": -45.0}) or {"probability": 0.0}
    rooms = data.get("rooms", "any")
    if rooms not in ("any", "simulated", "measured"):
        raise SpecError(f"{name}.rooms: any, simulated or measured, got {rooms!r}")
    splits = data.get("splits", {"train": 0.8, "val": 0.1, "test": 0.1})
    if not isinstance(splits, dict) or not splits or any(float(v) <= 0 for v in splits.values()):
        raise SpecError(f"{name}.splits: a mapping of split name to positive fraction")
    queries = data.get("queries", {}) or {}
    if set(queries) - QUERY_KEYS:
        raise SpecError(f"{name}.queries: unknown keys {sorted(set(queries) - QUERY_KEYS)}")
    query_text = queries.get("text", "caption")
    if query_text not in ("caption", "template"):
        raise SpecError(f"{name}.queries.text: caption or template, got {query_text!r}")
    recipe = dict(queries.get("recipe", {"name": "gaussian"}))
    try:
        make_recipe(recipe.get("name", "gaussian"), 0, **{k: v for k, v in recipe.items() if k != "name"})
    except ValueError as exc:
        raise SpecError(f"{name}.queries.recipe: {exc}") from exc
    prob = float(noise.get("probability", 1.0))
    if not 0.0 <= prob <= 1.0:
        raise SpecError(f"{name}.noise.probability must be within [0, 1]")
    spec = SceneSpec(
        name=str(data.get("name", name)),
        sample_rate=sr,
        duration_s=duration,
        max_event_s=float(data.get("max_event_s", duration)),
        min_event_s=float(data.get("min_event_s", 0.25)),
        targets=_events(data.get("targets", {}), f"{name}.targets", "targets"),
        interferers=_events(data.get("interferers", {"count": 0}), f"{name}.interferers", "interferers"),
        min_separation_deg=float(data.get("min_separation_deg", 0.0)),
        rooms=rooms,
        noise_probability=prob,
        noise_level_dbfs=Dist.parse(noise.get("level_dbfs", -45.0), f"{name}.noise.level_dbfs"),
        reference_dbfs=float(data.get("reference_dbfs", -30.0)),
        splits=tuple((str(k), float(v)) for k, v in splits.items()),
        split_seed=int(data.get("split_seed", 0)),
        query_text=query_text,
        query_recipe=tuple(recipe.items()),
        query_direction=_direction_query(queries.get("direction"), f"{name}.queries.direction"),
        query_region=_region_query(queries.get("region"), f"{name}.queries.region"),
        query_pointcloud=_pointcloud_query(queries.get("pointcloud"), f"{name}.queries.pointcloud"),
        raw=json.loads(json.dumps(data)),
    )
    if not 0 < spec.min_event_s <= spec.max_event_s <= duration:
        raise SpecError(f"{name}: 0 < min_event_s <= max_event_s <= duration_s needed")
    return spec


def load_spec(name_or_path: str | Path) -> SceneSpec:
    """A shipped spec by name (``dcase2025``, ``dcase2026``, ``tiny``, ``spatial``) or a YAML/JSON file."""
    data, where, _ = read_yaml_source(name_or_path, "foabench.synth.scenes.specs", SHIPPED_SPECS, "spec", SpecError)
    if not isinstance(data, dict):
        raise SpecError(f"{where}: a spec is a mapping")
    return parse_spec(data, name=where)


def spec_summary(spec: SceneSpec) -> dict:
    """A compact description for logs and headers."""
    return {k: v for k, v in asdict(spec).items() if k != "raw"}
