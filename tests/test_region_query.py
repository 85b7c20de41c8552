"""Region queries: geometry of cones and boxes (wrap-around, poles), the target always inside, ambiguity recorded
from the row's directions, re-derivation on read, and the beam steered at the region's centre."""

import json

import numpy as np
import pytest

from foabench.benchmark.baseline_separators import make_baseline
from foabench.benchmark.evaluate import evaluate_separator
from foabench.benchmark.separator import is_oracle
from foabench.synth.banks.bank_set import BankSet
from foabench.synth.foa import angular_distance
from foabench.synth.scenes.manifest import ManifestError, read_manifest, write_manifest
from foabench.synth.scenes.region_query import check_region_query, contains, make_region_query, region_centre
from foabench.synth.scenes.sampler import sample_manifest
from foabench.synth.scenes.spec import SpecError, parse_spec
from tests.scene_fixtures import TEST_SPEC
from tests.test_evaluate import _rows, _settings, setup  # noqa: F401  (setup is a fixture)


def test_cone_and_box_membership():
    cone = {"shape": "cone", "azimuth": 170.0, "elevation": 0.0, "size_deg": 20.0}
    assert contains(cone, -175.0, 5.0)  # 15.8 degrees away across the wrap
    assert not contains(cone, 140.0, 0.0)
    box = {"shape": "box", "azimuth": 175.0, "elevation": 80.0, "size_deg": 30.0}
    assert contains(box, -170.0, 70.0) and contains(box, 161.0, 94.0 - 4.0)  # wraps at ±180
    assert not contains(box, 150.0, 80.0) and not contains(box, 175.0, 60.0)
    assert contains(box, 0.0, 90.0)  # the pole lies at every azimuth


@pytest.mark.parametrize("shape", ["cone", "box"])
def test_the_target_is_always_inside(shape):
    rng = np.random.default_rng(0)
    for seed in range(400):
        az, el = float(rng.uniform(-180, 180)), float(np.degrees(np.arcsin(rng.uniform(-1, 1))))
        size = float(rng.uniform(2, 90))
        centre = region_centre(az, el, shape, size, 1.0, seed)
        assert contains({"shape": shape, "azimuth": centre[0], "elevation": centre[1], "size_deg": size}, az, el)
        if shape == "cone":
            assert angular_distance(az, el, *centre) <= size
    assert region_centre(10.0, 5.0, "cone", 30.0, 0.0, 3) == (10.0, 5.0)  # no jitter: centred on the target


def _events(*directions):
    return [{"role": "target", "azimuth": az, "elevation": el, "query": {}} for az, el in directions]


def test_ambiguity_is_recorded_and_checked():
    events = _events((0.0, 0.0), (10.0, 0.0), (90.0, 0.0))
    wide = make_region_query(events, 0, "cone", 40.0, 0.0, 1)
    assert wide["inside"] == [1] and wide["ambiguous"]
    narrow = make_region_query(events, 0, "cone", 5.0, 0.5, 1)
    assert narrow["inside"] == [] and not narrow["ambiguous"]
    events[0]["query"]["region"] = narrow
    assert check_region_query(events, 0, "row") is None
    events[1]["azimuth"] = 1.0  # the row now puts another event inside the recorded region
    assert "inside []" in check_region_query(events, 0, "row")
    events[1]["azimuth"] = 10.0
    events[0]["query"]["region"] = {**narrow, "azimuth": narrow["azimuth"] + 2.0}
    assert "edited after sampling" in check_region_query(events, 0, "row")
    events[0]["query"]["region"] = {**narrow, "azimuth": 60.0, "seed": 5}
    assert "does not hold its own target" in check_region_query(events, 0, "row")


def _region_spec(**region) -> dict:
    return {**TEST_SPEC, "queries": {"region": region}}


def test_spec_refuses_bad_regions():
    assert parse_spec(_region_spec(shape="box", size_deg=40)).query_region.shape == "box"
    for bad, match in (({"shape": "ellipse"}, "shape"), ({"size_deg": 0}, "within"), ({"jitter": 2}, "jitter"),
                       ({"radius": 3}, "a mapping")):  # fmt: skip
        with pytest.raises(SpecError, match=match):
            parse_spec(_region_spec(**bad))


def test_manifests_record_regions_and_beams_steer_at_them(setup, tmp_path):  # noqa: F811
    _, banks, _, _ = setup
    spec = parse_spec({**TEST_SPEC, "queries": {"region": {"shape": "cone", "size_deg": {"dist": "uniform",
                       "low": 10, "high": 60}}, "direction": {"model": "cone", "spread_deg": 5}}})  # fmt: skip
    bank_list = list(BankSet.open([banks]).banks.values())
    header, rows = sample_manifest(spec, bank_list, "test", 12, 5)
    assert json.dumps(rows) == json.dumps(sample_manifest(spec, bank_list, "test", 12, 5)[1])
    for row in rows:
        for k, ev in enumerate(row["events"]):
            if ev["role"] == "target":
                assert check_region_query(row["events"], k, "row") is None and "direction" in ev["query"]
    path = write_manifest(tmp_path / "r.jsonl", header, rows)[0]
    assert read_manifest(path).rows == rows
    edited = json.loads(json.dumps(rows))
    first = next(e for e in edited[0]["events"] if e["role"] == "target")
    first["query"]["region"]["inside"] = [7]
    (tmp_path / "e.jsonl").write_text("".join(json.dumps(r) + "\n" for r in edited))
    (tmp_path / "e.header.json").write_text((tmp_path / "r.header.json").read_text())
    with pytest.raises(ManifestError, match="records inside"):
        read_manifest(tmp_path / "e.jsonl", verify=False)

    beam = make_baseline("max-re:region")
    assert beam.uses == ("query_region",) and not is_oracle(beam)
    evaluate_separator(_settings(setup, tmp_path / "res", "max-re:region", split=str(path), query="text"),
                       progress=False)  # fmt: skip
    assert len(_rows(tmp_path / "res")) == sum(e["role"] == "target" for r in rows for e in r["events"])


def test_spatial_queries_travel_in_the_hf_shards(setup, tmp_path):  # noqa: F811
    from foabench.manifests.hf_export import export_hf
    from foabench.manifests.hf_reader import iter_rows

    _, banks, _, _ = setup
    spec = parse_spec({**TEST_SPEC, "queries": {"region": {"shape": "box", "size_deg": 50},
                                                "direction": {"model": "vmf", "spread_deg": 8}}})  # fmt: skip
    header, rows = sample_manifest(spec, list(BankSet.open([banks]).banks.values()), "test", 3, 9)
    path = write_manifest(tmp_path / "test.jsonl", header, rows)[0]
    export_hf([path], tmp_path / "hf", [banks], encoder=None, workers=1, progress=False)
    shard_rows = list(iter_rows(tmp_path / "hf", "test"))
    assert [r["row"] for r in shard_rows] == rows  # the row itself, so it re-renders and re-derives
    for row, decoded in zip(rows, shard_rows, strict=True):
        targets = [e for e in row["events"] if e["role"] == "target"]
        assert [t["query_direction"] for t in decoded["targets"]] == [e["query"]["direction"] for e in targets]
        assert [t["query_region"] for t in decoded["targets"]] == [e["query"]["region"] for e in targets]
