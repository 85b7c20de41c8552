"""Scene sampling, rendering and re-rendering: determinism, disjoint splits, levels, references, bad input."""

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

import foabench.synth.scenes.render_split as render_dataset
from foabench.benchmark.cli import main as cli
from foabench.manifests.check import check_manifests
from foabench.synth.banks.bank_set import BankSet, InputError
from foabench.synth.banks.format import Bank
from foabench.synth.scenes.levels import PEAK_CEILING, rms
from foabench.synth.scenes.manifest import ManifestError, read_manifest, write_manifest
from foabench.synth.scenes.render import Renderer, direct_window
from foabench.synth.scenes.render_split import render_manifest
from foabench.synth.scenes.sampler import sample_manifest
from foabench.synth.scenes.spec import SpecError, load_spec, parse_spec
from tests.scene_fixtures import SR, TEST_SPEC, build_scene_banks


@pytest.fixture(scope="module")
def bank_root(tmp_path_factory):
    return build_scene_banks(tmp_path_factory.mktemp("banks"), tmp_path_factory.mktemp("audio"))


@pytest.fixture
def spec():
    return parse_spec(TEST_SPEC, "test")


def _banks(root):
    return list(BankSet.open([root]).banks.values())


@pytest.fixture
def manifests(bank_root, spec, tmp_path):
    paths = {}
    for split, n in (("train", 12), ("val", 4), ("test", 4)):
        header, rows = sample_manifest(spec, _banks(bank_root), split, n, seed=5)
        paths[split] = write_manifest(tmp_path / f"{split}.jsonl", header, rows)[0]
    return paths


def test_sampling_is_deterministic_and_order_free(bank_root, spec):
    banks = _banks(bank_root)
    _, a = sample_manifest(spec, banks, "train", 10, seed=3)
    _, b = sample_manifest(spec, banks, "train", 6, seed=3)
    assert a[:6] == b  # row i does not depend on n
    for bank in banks:
        bank.records.reverse()  # listing order must not matter
    _, c = sample_manifest(spec, banks, "train", 10, seed=3)
    assert a == c
    _, d = sample_manifest(spec, banks, "train", 10, seed=4)
    assert a != d
    for row in a:
        targets = [e["label"] for e in row["events"] if e["role"] == "target"]
        others = [e["label"] for e in row["events"] if e["role"] == "interference"]
        assert len(set(targets)) == len(targets) and not set(targets) & set(others)
        rirs = [e["rir"]["path"] for e in row["events"]]
        assert len(set(rirs)) == len(rirs) and {e["rir"]["group"] for e in row["events"]} == {row["room"]["room"]}
        for e in row["events"]:
            assert e["onset"] >= 0 and e["onset"] + e["length"] <= row["num_frames"]
            assert 5 <= e["snr_db"] <= 15 if e["role"] == "target" else 0 <= e["snr_db"] <= 10


def test_splits_are_disjoint_and_checked(manifests, bank_root):
    report = check_manifests(list(manifests.values()), banks=[bank_root])
    assert report.ok, report.violations
    used = {s: {e["source"]["group"] for r in read_manifest(p).rows for e in r["events"]} for s, p in manifests.items()}
    assert not used["train"] & used["test"] and not used["train"] & used["val"]


def test_duration_and_onset_distributions(bank_root):
    targets = {"count": 1, "snr_db": 10, "duration_s": {"dist": "const", "value": 0.3}, "onset_s": 0.5}
    spec = parse_spec({**TEST_SPEC, "targets": targets, "interferers": {"count": 0}})
    _, rows = sample_manifest(spec, _banks(bank_root), "train", 5, seed=1)
    for row in rows:
        (ev,) = row["events"]
        assert (ev["length"], ev["onset"], ev["snr_db"]) == (round(0.3 * SR), round(0.5 * SR), 10)
    late = parse_spec({**TEST_SPEC, "targets": {**targets, "onset_s": {"dist": "uniform", "low": 1.4, "high": 1.5}}})
    _, rows = sample_manifest(late, _banks(bank_root), "train", 5, seed=1)
    assert all(r["events"][0]["onset"] + r["events"][0]["length"] <= r["num_frames"] for r in rows)


def test_spec_errors_name_the_field(bank_root, spec):
    with pytest.raises(SpecError, match="unknown keys"):
        parse_spec({**TEST_SPEC, "colour": 1})
    with pytest.raises(SpecError, match=r"targets\.snr_db"):
        parse_spec({**TEST_SPEC, "targets": {"count": 1, "snr_db": {"dist": "gamma"}}})
    with pytest.raises(SpecError, match=r"duplicates\.rate"):
        parse_spec({**TEST_SPEC, "targets": {"count": 2, "duplicates": {"rate": 2, "max": 1, "min_angle_deg": 60}}})
    with pytest.raises(SpecError, match=r"interferers: unknown keys \['duplicates'\]"):
        parse_spec({**TEST_SPEC, "interferers": {"duplicates": {"rate": 1, "max": 1, "min_angle_deg": 60}}})
    with pytest.raises(SpecError, match="not one of the spec's splits"):
        sample_manifest(spec, _banks(bank_root), "holdout", 1, 0)
    with pytest.raises(SpecError, match="distinct classes"):
        sample_manifest(parse_spec({**TEST_SPEC, "targets": {"count": 6}}), _banks(bank_root), "train", 1, 0)
    assert load_spec("dcase2025").num_frames == 320000 and load_spec("tiny").duration_s == 2.0


def _render_tree(out):
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_rerender_is_bit_exact_across_processes_and_shards(manifests, bank_root, tmp_path):
    m = manifests["train"]
    render_manifest(m, tmp_path / "a", [bank_root], workers=1, progress=False)
    for i in range(3):
        render_manifest(m, tmp_path / "b", [bank_root], shard=(i, 3), workers=2, progress=False)
    a, b = _render_tree(tmp_path / "a"), _render_tree(tmp_path / "b")
    assert a.keys() == b.keys() and len(a) > 12 * 5
    assert all(a[k] == b[k] for k in a)
    report = render_manifest(m, tmp_path / "a", [bank_root], verify=True, workers=2, progress=False)
    assert report.counts["verified"] == 12 and not report.problems
    # a mixture rendered by another version of the mixing arithmetic: verify says so beside the differing file
    folder = next(p for p in sorted((tmp_path / "a").iterdir()) if p.is_dir())
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["mixer"] == 2
    wave, sr = sf.read(folder / "mixture.flac", dtype="float32")
    sf.write(folder / "mixture.flac", wave * np.float32(0.5), sr, subtype="PCM_24")
    meta["files"]["mixture.flac"] = render_dataset.sha256_file(folder / "mixture.flac")
    (folder / "meta.json").write_text(json.dumps({**meta, "mixer": 1}))
    report = render_manifest(m, tmp_path / "a", [bank_root], verify=True, workers=1, progress=False)
    assert report.counts["mismatch"] == 1
    assert any("mixer version 1, re-rendered with version 2" in p for p in report.problems)


def test_rendered_events_match_the_row(manifests, bank_root):
    rows = read_manifest(manifests["train"]).rows
    renderer = Renderer(BankSet.open([bank_root]))
    for row in rows:
        out = renderer.render(row)
        scale = 10 ** (out.metadata["clip_gain_db"] / 20)
        noise_level = row["noise"]["level_dbfs"]
        targets = [e for e in row["events"] if e["role"] == "target"]
        assert len(out.references) == len(targets)
        target_meta = [m for m in out.metadata["events"] if m["role"] == "target"]
        for ev, refs, meta in zip(targets, out.references, target_meta, strict=True):
            onset, length = ev["onset"], ev["length"]
            wet = refs["wet"].astype(np.float64)
            assert not np.any(wet[:onset])  # nothing before the onset
            level = 20 * np.log10(rms(wet[onset : onset + length, 0]) / scale)
            assert level == pytest.approx(noise_level + ev["snr_db"], abs=0.01)
            rec = renderer.banks.record(ev["rir"])
            d = rec.direct_sample
            src = renderer.audio(ev["source"], 1)[:, 0].astype(np.float64)
            x = src[ev["source_offset"] : ev["source_offset"] + length]
            gain = 10 ** (meta["gain_db"] / 20) * scale
            # dry: the excerpt at the event's gain, delayed to the direct-path arrival
            dry = np.zeros(row["num_frames"])
            end = min(row["num_frames"], onset + d + length)
            dry[onset + d : end] = x[: end - onset - d] * gain
            np.testing.assert_allclose(refs["dry"], dry, atol=2e-6 * max(1e-9, np.abs(dry).max()) + 1e-7)
            # direct: a hand-computed convolution with the W channel windowed to [peak - 6 ms, peak + 50 ms]
            rir = renderer.audio(ev["rir"], 4)[:, 0].astype(np.float64)
            win = direct_window(d, len(rir), SR)
            h = np.zeros(len(rir))
            h[win] = rir[win]
            full = np.convolve(x * gain, h)
            direct = np.zeros(row["num_frames"])
            span = min(len(full), row["num_frames"] - onset)
            direct[onset : onset + span] = full[:span]
            assert np.max(np.abs(refs["direct"] - direct)) < 1e-4 * np.abs(direct).max() + 1e-7
        assert np.max(np.abs(out.mixture)) <= PEAK_CEILING


def test_clipping_is_a_recorded_global_gain(manifests, bank_root):
    row = read_manifest(manifests["train"]).rows[0]
    row["noise"]["level_dbfs"] = -3.0
    row["events"][0]["snr_db"] = 30.0
    out = Renderer(BankSet.open([bank_root])).render(row)
    assert out.metadata["clip_gain_db"] < 0
    assert np.max(np.abs(out.mixture)) == pytest.approx(PEAK_CEILING, abs=1e-6)


def test_changed_or_escaping_inputs_are_refused(manifests, bank_root, tmp_path):
    banks = tmp_path / "banks"
    shutil.copytree(bank_root, banks)
    row = read_manifest(manifests["train"]).rows[0]
    src = banks / "clips" / row["events"][0]["source"]["path"]
    wave, sr = sf.read(src)
    sf.write(src, wave * 0.5, sr, subtype="PCM_24")
    with pytest.raises(InputError, match="changed"):
        render_manifest(manifests["train"], tmp_path / "out", [banks], workers=1, progress=False)  # fingerprint
    renderer = Renderer(BankSet.open([banks]))
    with pytest.raises(InputError, match="changed"):
        renderer.render(row)
    bad = json.loads(json.dumps(row))
    bad["events"][0]["source"]["path"] = "../../etc/passwd"
    header = json.loads(manifests["train"].with_name("train.header.json").read_text())
    write_manifest(tmp_path / "bad.jsonl", header, [bad])
    with pytest.raises(ManifestError, match="leaves its bank root"):
        read_manifest(tmp_path / "bad.jsonl")


def test_future_schema_is_refused(manifests):
    header_path = manifests["val"].with_name("val.header.json")
    header = json.loads(header_path.read_text())
    header_path.write_text(json.dumps({**header, "schema_version": 99}))
    with pytest.raises(ManifestError, match="newer"):
        read_manifest(manifests["val"])


def test_interrupted_render_resumes(manifests, bank_root, tmp_path, monkeypatch):
    real = render_dataset.Renderer.render
    calls = []

    def flaky(self, row):
        calls.append(row["id"])
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(self, row)

    monkeypatch.setattr(render_dataset.Renderer, "render", flaky)
    with pytest.raises(KeyboardInterrupt):
        render_manifest(manifests["train"], tmp_path / "out", [bank_root], workers=1, progress=False)
    monkeypatch.setattr(render_dataset.Renderer, "render", real)
    report = render_manifest(manifests["train"], tmp_path / "out", [bank_root], workers=1, progress=False)
    assert report.counts == {"skipped": 4, "rendered": 8}
    # a tampered output is found by --verify
    target = next((tmp_path / "out").glob("*/mixture.flac"))
    target.write_bytes(target.read_bytes()[:-10] + b"0123456789")
    report = render_manifest(manifests["train"], tmp_path / "out", [bank_root], verify=True, workers=1, progress=False)
    assert report.counts["mismatch"] == 1 and "differs" in report.problems[0]


def test_scenes_and_render_cli(bank_root, tmp_path, capsys):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(TEST_SPEC))
    m = tmp_path / "m" / "val.jsonl"
    assert (
        cli(["scenes", "--spec", str(spec), "--banks", str(bank_root), "--split", "val", "--n", "3", "--out", str(m)])
        == 0
    )
    assert "3 mixtures of split 'val'" in capsys.readouterr().out
    out = tmp_path / "r"
    assert cli(["render", str(m), "--banks", str(bank_root), "--out", str(out), "--workers", "1", "--no-progress"]) == 0
    assert cli(["render", str(m), "--banks", str(bank_root), "--out", str(out), "--verify", "--no-progress"]) == 0
    assert cli(["render", str(m), "--banks", str(bank_root), "--out", str(out), "--shard", "3/2"]) == 2
    assert Bank.open(bank_root / "rooms").kind == "rirs"
