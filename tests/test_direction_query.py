"""Direction queries: the sampled pointing error follows its model, manifests record and re-derive it, and the
beamformers steer at it without being oracle."""

import json
import math

import numpy as np
import pytest
from scipy import stats

from foabench.benchmark.baseline_separators import make_baseline
from foabench.benchmark.evaluate import evaluate_separator
from foabench.benchmark.separator import is_oracle
from foabench.synth.banks.bank_set import BankSet
from foabench.synth.foa import angular_distance, unit_vector
from foabench.synth.scenes.direction_query import error_cdf, make_direction_query, pointing
from foabench.synth.scenes.manifest import ManifestError, read_manifest, write_manifest
from foabench.synth.scenes.sampler import sample_manifest
from foabench.synth.scenes.spec import SpecError, parse_spec
from tests.scene_fixtures import TEST_SPEC
from tests.test_evaluate import _rows, _settings, setup  # noqa: F401  (setup is a fixture)


def _errors(model: str, spread: float, az: float, el: float, n: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    """cos of the angle to the true direction, and the error's direction around it, for seeds 0..n-1."""
    truth = unit_vector(az, el)
    cos, around = [], []
    helper = np.array([0.0, 0.0, 1.0]) if abs(truth[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    e1 = np.cross(truth, helper) / np.linalg.norm(np.cross(truth, helper))
    e2 = np.cross(truth, e1)
    for seed in range(n):
        v = unit_vector(*pointing(az, el, model, spread, seed))
        cos.append(float(np.dot(v, truth)))
        around.append(math.atan2(float(np.dot(v, e2)), float(np.dot(v, e1))))
    return np.array(cos), np.array(around)


@pytest.mark.parametrize(("model", "spread", "az", "el"),
                         [("vmf", 10.0, 30.0, 10.0), ("vmf", 40.0, -120.0, -35.0), ("cone", 20.0, 170.0, 60.0),
                          ("cone", 5.0, 0.0, 89.0)])  # fmt: skip
def test_pointing_error_follows_its_model(model, spread, az, el):
    cos, around = _errors(model, spread, az, el)
    # the angle to the truth follows the model's closed-form distribution (4-decimal rounding: far below its scale)
    assert stats.kstest(cos, lambda t: error_cdf(model, spread, t)).pvalue > 1e-3
    # and the error points every way around the truth equally
    assert stats.kstest(around, stats.uniform(-math.pi, 2 * math.pi).cdf).pvalue > 1e-3
    if model == "vmf":  # small spreads: each tangent axis has standard deviation ~ spread
        angle = np.degrees(np.arccos(np.clip(cos, -1, 1)))
        assert np.sqrt(np.mean(angle**2) / 2) == pytest.approx(spread, rel=0.1)
    else:
        assert np.degrees(np.arccos(cos.min())) <= spread + 1e-3


def test_pointing_is_exact_without_spread_and_deterministic():
    assert pointing(12.5, -3.25, "vmf", 0.0, 7) == (12.5, -3.25)
    assert pointing(12.5, -3.25, "cone", 15.0, 7) == pointing(12.5, -3.25, "cone", 15.0, 7)
    assert pointing(12.5, -3.25, "cone", 15.0, 7) != pointing(12.5, -3.25, "cone", 15.0, 8)
    with pytest.raises(ValueError, match="unknown direction query model"):
        pointing(0, 0, "gauss", 5, 1)


def _direction_spec(**direction) -> dict:
    return {**TEST_SPEC, "queries": {"direction": direction}}


def test_spec_refuses_bad_direction_queries():
    assert parse_spec(_direction_spec(model="cone", spread_deg=5)).query_direction.model == "cone"
    assert parse_spec(TEST_SPEC).query_direction is None
    for bad, match in (({"model": "laplace"}, "model"), ({"spread_deg": {"dist": "uniform", "low": 0, "high": 200}},
                       "within"), ({"model": "vmf", "kappa": 3}, "a mapping")):  # fmt: skip
        with pytest.raises(SpecError, match=match):
            parse_spec(_direction_spec(**bad))


def test_manifests_record_and_rederive_direction_queries(setup, tmp_path):  # noqa: F811
    _, banks, _, _ = setup
    spec = parse_spec(_direction_spec(model="vmf", spread_deg={"dist": "uniform", "low": 2, "high": 30}))
    bank_list = list(BankSet.open([banks]).banks.values())
    header, rows = sample_manifest(spec, bank_list, "test", 12, 3)
    again = sample_manifest(spec, bank_list, "test", 12, 3)[1]
    assert json.dumps(rows, sort_keys=True) == json.dumps(again, sort_keys=True)  # reproducible
    targets = [e for r in rows for e in r["events"] if e["role"] == "target"]
    spreads = {e["query"]["direction"]["spread_deg"] for e in targets}
    assert len(spreads) == len(targets) and all(2 <= s <= 30 for s in spreads)  # drawn per target
    for e in targets:
        d = e["query"]["direction"]
        assert d == make_direction_query(e, "vmf", d["spread_deg"], d["seed"])
        assert angular_distance(e["azimuth"], e["elevation"], d["azimuth"], d["elevation"]) < 5 * d["spread_deg"]
    assert all("direction" not in e.get("query", {}) for r in sample_manifest(parse_spec(TEST_SPEC), bank_list,
               "test", 4, 3)[1] for e in r["events"])  # fmt: skip
    path = write_manifest(tmp_path / "d.jsonl", header, rows)[0]
    assert read_manifest(path).rows == rows

    edited = [json.loads(json.dumps(r)) for r in rows]
    first = next(e for e in edited[0]["events"] if e["role"] == "target")
    first["query"]["direction"]["azimuth"] = round(first["query"]["direction"]["azimuth"] + 3.0, 4)
    (tmp_path / "e.jsonl").write_text("".join(json.dumps(r) + "\n" for r in edited))
    (tmp_path / "e.header.json").write_text((tmp_path / "d.header.json").read_text())
    with pytest.raises(ManifestError, match="edited after sampling"):
        read_manifest(tmp_path / "e.jsonl", verify=False)


def test_beams_steer_at_the_direction_query(setup, tmp_path):  # noqa: F811
    _, banks, _, _ = setup
    beam = make_baseline("cardioid:pointed")
    assert beam.uses == ("query_direction",) and not is_oracle(beam)
    bank_list = list(BankSet.open([banks]).banks.values())
    outs = {}
    for spread in (0.0, 25.0):
        spec = parse_spec(_direction_spec(model="vmf", spread_deg=spread))
        test = write_manifest(tmp_path / f"s{spread}.jsonl", *sample_manifest(spec, bank_list, "test", 3, 2))[0]
        for steering in ("oracle", "pointed"):
            out = tmp_path / f"{steering}-{spread}"
            evaluate_separator(_settings(setup, out, f"cardioid:{steering}", split=str(test), query="text"),
                               progress=False)  # fmt: skip
            outs[(steering, spread)] = [r["si_sdr"] for r in sorted(_rows(out), key=lambda r: r["key"])]
    assert outs[("pointed", 0.0)] == outs[("oracle", 0.0)]  # an exact pointing is the oracle beam
    assert outs[("pointed", 25.0)] != outs[("oracle", 25.0)]
    assert outs[("oracle", 25.0)] == outs[("oracle", 0.0)]  # the query changes nothing else in the scene
    with pytest.raises(Exception, match="direction query"):
        evaluate_separator(_settings(setup, tmp_path / "none", "cardioid:pointed", query="text"), progress=False)


def test_direction_map_puts_a_plane_wave_in_its_cell():
    from foabench.baselines.doa import direction_map
    from foabench.synth.foa import encode_direction

    noise = np.random.default_rng(3).standard_normal(16000)
    for az, el in ((42.5, 17.5), (-137.5, -62.5), (177.5, 2.5)):
        grid, az_edges, el_edges = direction_map(encode_direction(az, el)[:, None] * noise[None], 16000)
        i, j = np.unravel_index(np.argmax(grid), grid.shape)
        assert el_edges[i] < el < el_edges[i + 1] and az_edges[j] < az < az_edges[j + 1]
        assert grid[i, j] == 1.0 and grid.sum() == pytest.approx(1.0)  # all the energy in that cell
    assert not direction_map(np.zeros((4, 1000)), 16000)[0].any()


def test_report_shows_where_sounds_come_from_and_a_headphone_preview(setup, tmp_path):  # noqa: F811
    from foabench.benchmark.leaderboard_cli import run_leaderboard
    from foabench.synth.audio_io import read_audio

    _, banks, _, _ = setup
    spec = parse_spec(_direction_spec(model="vmf", spread_deg=10))
    bank_list = list(BankSet.open([banks]).banks.values())
    test = write_manifest(tmp_path / "t.jsonl", *sample_manifest(spec, bank_list, "test", 2, 4))[0]
    res = tmp_path / "res"
    evaluate_separator(_settings(setup, res, "max-re:pointed", split=str(test), query="text", examples=1),
                       progress=False)  # fmt: skip
    first = _rows(res)[0]
    assert len(first["direction_query"]) == 2
    stereo, _ = read_audio(res / "examples" / f"{first['mixture']}_mixture_stereo.flac")
    assert stereo.shape[1] == 2
    run_leaderboard([res], tmp_path / "board", plots=False, report=True)
    html = (tmp_path / "board" / "report.html").read_text()
    assert f"maps/{first['mixture']}_directions.png" in html and "Headphones" in html and "spaudiopy" in html
    assert (tmp_path / "board" / "maps" / f"{first['mixture']}_directions.png").stat().st_size > 1000
