"""Point-cloud queries end to end: a spec that asks for them samples objects (split by asset), captures every
scene, records each target's cloud, checks (re-capturing), renders and exports bit-exactly, and trains and
evaluates a BSAST conditioned on them."""

import copy
import json

import numpy as np
import pytest

from foabench.benchmark.evaluate import evaluate_separator
from foabench.benchmark.separator_spec import load_separator
from foabench.benchmark.train import TrainSettings, train
from foabench.manifests.check import check_manifests
from foabench.manifests.hf_export import export_hf
from foabench.manifests.hf_reader import iter_rows
from foabench.synth.banks.bank_set import BankSet
from foabench.synth.foa import unit_vector
from foabench.synth.pointclouds.cloud_files import read_cloud_npz
from foabench.synth.scenes.manifest import ManifestError, validate_row, write_manifest
from foabench.synth.scenes.pointcloud_query import scene_capture
from foabench.synth.scenes.render_split import encode_row, renderer_for
from foabench.synth.scenes.sampler import sample_manifest
from foabench.synth.scenes.spec import SpecError, parse_spec
from tests.pointcloud_fixtures import build_test_mesh_bank
from tests.scene_fixtures import TEST_SPEC
from tests.test_direction_condition import TINY
from tests.test_evaluate import _rows, _settings, setup  # noqa: F401  (setup is a fixture)

YAW = {"dist": "uniform", "low": -10, "high": 10}
SPEC = {**TEST_SPEC, "queries": {"pointcloud": {"sensor": {"resolution_deg": 2.0}, "yaw_deg": YAW}}}


@pytest.fixture(scope="module")
def spatial(setup, tmp_path_factory):  # noqa: F811
    _root, banks, _, _ = setup
    meshes = build_test_mesh_bank(tmp_path_factory.mktemp("meshes"))
    bank_paths = [str(banks), str(meshes)]
    opened = list(BankSet.open(bank_paths).banks.values())
    folder = tmp_path_factory.mktemp("spatial")
    manifests = {}
    for split, n in (("train", 6), ("test", 6)):
        header, rows = sample_manifest(parse_spec(SPEC), opened, split, n, 7)
        manifests[split] = write_manifest(folder / f"{split}.jsonl", header, rows)[0]
    return bank_paths, manifests, folder


def _read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_event_gets_an_object_of_its_split_and_every_target_a_cloud(spatial):
    bank_paths, manifests, _ = spatial
    meshes_by_split = {}
    for split, path in manifests.items():
        for row in _read(path):
            validate_row(row)
            assert set(row["capture"]) == {"sensor", "seed"}
            for ev in row["events"]:
                obj = ev["object"]
                if ev["label"] == "bird":  # the table gives it no shape, and the row says so
                    assert obj == {"mesh": None, "reason": "the mesh table gives this class no shape"}
                else:
                    assert obj["match"] == ("player" if ev["label"] == "drum" else "object")
                    assert -10 <= obj["yaw_deg"] <= 10
                    meshes_by_split.setdefault(split, set()).add(obj["mesh"]["group"])
                if ev["role"] == "target":
                    q = ev["query"]["pointcloud"]
                    assert q["seed"] == row["capture"]["seed"]
                    assert (q["num_points"] == 0) == (q["centroid"] is None)
                    if ev["label"] == "bird":
                        assert q["num_points"] == 0 and "no shape" in q["reason"]
    assert not meshes_by_split["train"] & meshes_by_split["test"]  # meshes are split by asset
    report = check_manifests(list(manifests.values()), bank_paths)
    assert report.ok, report.violations


def test_a_targets_cloud_lies_at_its_source(spatial):
    bank_paths, manifests, _ = spatial
    banks = BankSet.open(bank_paths)
    seen = 0
    for row in _read(manifests["test"]):
        cap = scene_capture(row, banks)
        for j, ev in enumerate(row["events"]):
            q = (ev.get("query") or {}).get("pointcloud")
            if not q or not q["num_points"]:
                continue
            pts = cap.of(j).astype(np.float64)
            np.testing.assert_allclose(pts.mean(axis=0), q["centroid"], atol=1e-4)
            rec = banks.record(ev["object"]["mesh"])
            source = ev["distance"] * unit_vector(ev["azimuth"], ev["elevation"])
            assert np.linalg.norm(pts.mean(axis=0) - source) <= np.linalg.norm(rec.size_m)  # within its size
            seen += 1
    assert seen >= 3


def test_check_catches_edited_clouds_and_meshes_leaking_across_splits(spatial, tmp_path):
    bank_paths, manifests, _ = spatial
    rows = _read(manifests["test"])
    header = json.loads(manifests["test"].with_name("test.header.json").read_text())
    edited = copy.deepcopy(rows)
    target = next(
        ev for r in edited for ev in r["events"] if (ev.get("query") or {}).get("pointcloud", {}).get("centroid")
    )
    target["query"]["pointcloud"]["centroid"][0] += 0.05
    path = write_manifest(tmp_path / "edited.jsonl", header, edited)[0]
    report = check_manifests([path], bank_paths)
    assert [v.category for v in report.violations] == ["pointcloud"]
    assert "centroid" in report.violations[0].message
    train = _read(manifests["train"])
    leaked = copy.deepcopy(rows)
    mesh = next(ev["object"]["mesh"] for r in train for ev in r["events"] if ev["object"]["mesh"])
    next(ev for r in leaked for ev in r["events"] if ev["object"]["mesh"])["object"]["mesh"] = dict(mesh)
    path = write_manifest(tmp_path / "leaked.jsonl", header, leaked)[0]
    report = check_manifests([path, manifests["train"]], bank_paths)
    assert any(v.category == "leak" and v.where.startswith("mesh group") for v in report.violations)
    broken = copy.deepcopy(rows[0])
    del broken["events"][0]["object"]
    with pytest.raises(ManifestError, match="records every event's object"):
        validate_row(broken)


def test_renders_and_shards_carry_the_same_clouds_bit_exactly(spatial, tmp_path):
    bank_paths, manifests, _ = spatial
    rows = _read(manifests["test"])
    renderer = renderer_for(bank_paths)
    files, _ = encode_row(renderer, rows[0])
    again, _ = encode_row(renderer_for(bank_paths), rows[0])
    assert files == again and "scene_cloud.npz" in files
    n_targets = sum(ev["role"] == "target" for ev in rows[0]["events"])
    assert {f"target{k}_pointcloud.npz" for k in range(n_targets)} <= set(files)
    export_hf([manifests["test"]], tmp_path / "hf", bank_paths, encoder=None, workers=1, progress=False)
    for row, shard in zip(rows, iter_rows(tmp_path / "hf", "test"), strict=True):
        files, _ = encode_row(renderer, row)
        points, ids = read_cloud_npz(files["scene_cloud.npz"])
        np.testing.assert_array_equal(shard["scene_cloud"][0], points)
        np.testing.assert_array_equal(shard["scene_cloud"][1], ids)
        for k, t in enumerate(shard["targets"]):
            np.testing.assert_array_equal(t["pointcloud"], read_cloud_npz(files[f"target{k}_pointcloud.npz"])[0])
            assert t["query_pointcloud"] == row["events"][t["event"]]["query"]["pointcloud"]
        assert [e["object"] for e in shard["events"]] == [ev["object"] for ev in row["events"]]


def test_spatial_queries_leave_every_other_draw_of_a_row_unchanged(spatial):
    bank_paths, _, _ = spatial
    banks = list(BankSet.open(bank_paths).banks.values())
    everything = {**SPEC["queries"], "direction": {"model": "vmf", "spread_deg": 5.0},
                  "region": {"shape": "cone", "size_deg": 30.0}}  # fmt: skip
    _, plain = sample_manifest(parse_spec(TEST_SPEC), banks, "test", 8, 3)
    _, spatial_rows = sample_manifest(parse_spec({**TEST_SPEC, "queries": everything}), banks, "test", 8, 3)
    for row in spatial_rows:
        assert row.pop("capture")
        for ev in row["events"]:
            assert ev.pop("object")
            if ev["role"] == "target":
                assert {ev["query"].pop(k) is not None for k in ("direction", "region", "pointcloud")} == {True}
    assert spatial_rows == plain


def test_without_a_mesh_bank_the_spec_is_refused(setup):  # noqa: F811
    _, banks, _, _ = setup
    with pytest.raises(SpecError, match="no meshes bank"):
        sample_manifest(parse_spec(SPEC), list(BankSet.open([banks]).banks.values()), "test", 1, 0)


def test_trained_on_point_clouds_and_evaluated_with_them_and_with_user_scans(setup, spatial, tmp_path):  # noqa: F811
    root, _banks, _, _ = setup
    bank_paths, manifests, _folder = spatial
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(SPEC))
    run = tmp_path / "run"
    overrides = {**TINY, "condition": "pointcloud", "cloud_points": 32, "cloud_dim": 16}
    train(TrainSettings(out=str(run), banks=bank_paths, model="bsast", config="tiny", model_overrides=overrides,
                        spec=str(spec_path), val=str(manifests["test"]), steps=2, batch_size=2, warmup=1, workers=0,
                        ckpt_every=2, val_every=2, encoder=str(root / "encoder"), cache=str(root / "cache")),
          progress=False)  # fmt: skip
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("swap_query_si_sdri" in m.get("val", {}) for m in metrics)
    sep = load_separator(f"bsast:{run}")
    assert sep.uses == ("query_pointcloud",)
    settings = _settings(setup, tmp_path / "res", f"bsast:{run}", split=str(manifests["test"]), query="text",
                         banks=bank_paths)  # fmt: skip
    summary = evaluate_separator(settings, progress=False)
    rows = _read(manifests["test"])
    assert summary["by_query"]["text"]["n"] == sum(e["role"] == "target" for r in rows for e in r["events"])
    first = {r["key"]: r["si_sdr"] for r in _rows(tmp_path / "res")}
    # read from HF shards instead: the clouds come from the shards, and the scores are the same
    export_hf([manifests["test"]], tmp_path / "hf", bank_paths, encoder=None, workers=1, progress=False)
    shards = _settings(setup, tmp_path / "res-hf", f"bsast:{run}", split=None, hf=str(tmp_path / "hf"), query="text")
    evaluate_separator(shards, progress=False)
    assert {r["key"]: r["si_sdr"] for r in _rows(tmp_path / "res-hf")} == pytest.approx(first, abs=1e-6)
    # the same clouds brought as user scans (posed with an explicit identity) score exactly the same
    scans = tmp_path / "scans"
    scans.mkdir()
    banks_set = BankSet.open(bank_paths)
    for row in rows:
        cap = scene_capture(row, banks_set)
        np.savez(scans / f"{row['id']}.npz", points=cap.points, ids=cap.ids, pose=np.eye(4))
    settings = _settings(setup, tmp_path / "res2", f"bsast:{run}", split=str(manifests["test"]), query="text",
                         banks=bank_paths, pointclouds=str(scans))  # fmt: skip
    summary2 = evaluate_separator(settings, progress=False)
    assert summary2["provenance"]["pointclouds"]["folder"] == str(scans)
    assert {r["key"]: r["si_sdr"] for r in _rows(tmp_path / "res2")} == pytest.approx(first, abs=1e-6)
    with pytest.raises(ValueError, match="no point-cloud query"):  # scenes without clouds: a clear error
        plain = tmp_path / "plain.json"
        plain.write_text(json.dumps(TEST_SPEC))
        train(TrainSettings(out=str(tmp_path / "run2"), banks=bank_paths, model="bsast", config="tiny",
                            model_overrides=overrides, spec=str(plain), steps=1, batch_size=2, warmup=1, workers=0,
                            encoder=str(root / "encoder"), cache=str(root / "cache")), progress=False)  # fmt: skip
