"""``foabench benchmark build|verify``, scoring against a built benchmark (files and shards) and its leaderboard."""

import json
import shutil

import numpy as np
import pytest
import yaml

from foabench.benchmark.cli import main as cli
from foabench.benchmark.evaluate import EvalSettings, evaluate_separator
from foabench.benchmark.leaderboard import LeaderboardError, load_results
from foabench.benchmark.published.build import build_benchmark, group_leaks, read_record
from foabench.benchmark.published.definition import DefinitionError, load_definition
from foabench.benchmark.published.verify import verify_benchmark
from foabench.synth.queries.train_encoder import TrainConfig, train_builtin_encoder
from foabench.synth.scenes.manifest import read_manifest
from tests.scene_fixtures import TEST_SPEC, build_scene_banks

N_VAL, N_TEST = 3, 5


class QueryClipLevel:
    """A toy separator that listens to the audio query clip: W scaled by the clip's RMS (so a wrong clip shows)."""

    name = "query-clip-level"
    uses = ("query_audio",)

    def separate(self, mixture, query):
        clips = query.audio if query.audio is not None else [None] * mixture.shape[0]
        levels = [float(np.sqrt(np.mean(np.square(clip)))) if clip is not None else 0.1 for clip in clips]
        return mixture[:, 0] * mixture.new_tensor(levels)[:, None] * 10


def _definition(root, banks, **changes) -> dict:
    data = {
        "name": "tiny-bench",
        "version": 1,
        "banks": {key: {"builder": "folder", "path": str(banks / key)} for key in ("clips", "rooms", "noise")},
        "scene": TEST_SPEC,
        "splits": {
            "train": "dynamic",
            "val": {"mixtures": N_VAL, "seed": 11},
            "test": {"mixtures": N_TEST, "seed": 12},
        },
        "render": {"references": ["direct", "dry"]},
    }
    data.update(changes)
    return data


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    banks = build_scene_banks(root / "source-banks", root / "audio")
    train_builtin_encoder(banks / "clips", root / "encoder", TrainConfig(steps=3, batch_size=8), progress=False)
    path = root / "tiny-bench.yaml"
    path.write_text(yaml.safe_dump(_definition(root, banks)))
    a = build_benchmark(path, root / "a", workers=1, hf=True, progress=False)
    b = build_benchmark(path, root / "b", workers=1, hf=True, progress=False)
    return root, banks, path, a, b


def test_two_builds_record_the_same_benchmark(built):
    root = built[0]
    record = read_record(root / "a")
    assert record["name"] == "tiny-bench" and record["stats"]["test"]["mixtures"] == N_TEST
    assert record["stats"]["val"]["mixtures"] == N_VAL
    assert (root / "a" / "benchmark.json").read_bytes() == (root / "b" / "benchmark.json").read_bytes()
    shards = sorted((root / "a" / "hf" / "data").glob("*.parquet"))
    assert shards and [p.read_bytes() for p in shards] == [  # the shards too are byte-identical across builds
        (root / "b" / "hf" / "data" / p.name).read_bytes() for p in shards]  # fmt: skip
    assert (root / "a" / "hf" / "benchmark.json").read_bytes() == (root / "a" / "benchmark.json").read_bytes()
    assert set(record["rendered"]["test"]["files"]) >= {f"{r['id']}/mixture.flac" for r in read_manifest(
        root / "a" / "manifests" / "test.jsonl").rows}  # fmt: skip
    assert not any(name.endswith("_wet.flac") for name in record["rendered"]["test"]["files"])
    # a third build into a's folder changes nothing (resumed, not redone)
    before = (root / "a" / "benchmark.json").read_bytes()
    build_benchmark(built[2], root / "a", workers=1, hf=True, progress=False)
    assert (root / "a" / "benchmark.json").read_bytes() == before


def test_fixed_splits_use_only_their_own_groups(built):
    root = built[0]
    groups = json.loads((root / "a" / "splits.json").read_text())
    rows = {s: read_manifest(root / "a" / "manifests" / f"{s}.jsonl").rows for s in ("val", "test")}
    assert len(rows["test"]) == N_TEST and not group_leaks(rows, groups)
    assert groups["sources"]["train"] and groups["rooms"]["train"]
    # a row moved into another split is caught
    moved = {"val": rows["test"][:1]}
    assert group_leaks(moved, groups)


def _copy(built, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(built[0] / "a", folder)
    return folder


def test_verify_passes_on_a_build(built):
    report = verify_benchmark(built[0] / "a", workers=1, progress=False)
    assert report.ok, report.format()
    assert report.checked["shards"] >= 2
    assert report.checked["rendered files"] > 0 and report.checked["bank files"] > 0


def test_verify_names_a_changed_rendered_byte(built, tmp_path):
    folder = _copy(built, tmp_path)
    target = sorted((folder / "render" / "test").glob("*/mixture.flac"))[1]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    report = verify_benchmark(folder, workers=1, progress=False)
    assert not report.ok
    kinds = {k for k, _ in report.problems}
    assert kinds == {"rendered"}, report.format()
    assert any(f"{target.parent.name}/mixture.flac" in m for _, m in report.problems)


def test_verify_names_an_edited_manifest_row(built, tmp_path):
    folder = _copy(built, tmp_path)
    path = folder / "manifests" / "test.jsonl"
    lines = path.read_text().splitlines()
    row = json.loads(lines[2])
    row["events"][0]["snr_db"] += 1.0
    lines[2] = json.dumps(row, sort_keys=True)
    path.write_text("\n".join(lines) + "\n")
    report = verify_benchmark(folder, workers=1, progress=False)
    kinds = {k for k, _ in report.problems}
    assert "manifest" in kinds and "bank" not in kinds, report.format()
    assert any(f"row {row['id']}" in m for k, m in report.problems if k == "manifest")


def test_verify_names_a_bank_file_replaced_by_one_of_the_same_length(built, tmp_path):
    folder = _copy(built, tmp_path)
    clips = sorted((folder / "banks" / "clips").rglob("*.flac"))
    victim = clips[0]
    data = bytearray(victim.read_bytes())
    data[-10] ^= 0x01  # same length, other bytes
    victim.write_bytes(bytes(data))
    report = verify_benchmark(folder, workers=1, progress=False)
    kinds = {k for k, _ in report.problems}
    assert kinds == {"bank"}, report.format()
    rel = victim.relative_to(folder / "banks" / "clips").as_posix()
    assert any(rel in m for _, m in report.problems)


def test_cli_verify_exits_non_zero_with_the_list(built, tmp_path, capsys):
    folder = _copy(built, tmp_path)
    assert cli(["benchmark", "verify", str(folder), "--no-progress", "--workers", "1", "--no-rerender"]) == 0
    (folder / "manifests" / "val.jsonl").write_text("")
    assert cli(["benchmark", "verify", str(folder), "--no-progress", "--workers", "1", "--no-rerender"]) == 1
    out = capsys.readouterr().out
    assert "== manifest:" in out and "DIFFERS" in out


def _eval(built, out, separator, **kw):
    root = built[0]
    base = dict(separator=separator, split=None, out=str(out), encoder=str(root / "encoder"),
                cache=str(root / "cache"), batch_size=2, examples=1)  # fmt: skip
    return evaluate_separator(EvalSettings(**{**base, **kw}), progress=False)


@pytest.mark.parametrize("separator", ["tests.test_published_benchmark:QueryClipLevel", "max-re:query"])
def test_shards_alone_give_the_figures_of_the_benchmark_files(built, tmp_path, separator):
    root = built[0]
    files = _eval(built, tmp_path / "files", separator, benchmark=str(root / "a"))
    shutil.rmtree(root / "cache", ignore_errors=True)  # the shards' clips are embedded afresh, not from the cache
    shards = _eval(built, tmp_path / "shards", separator, hf=str(root / "a" / "hf"))
    assert files["by_query"] == shards["by_query"]
    rows = {k: [json.loads(x) for x in (tmp_path / k / "rows.jsonl").read_text().splitlines()] for k in ("files",
            "shards")}  # fmt: skip
    key = lambda r: r["key"]  # noqa: E731
    metrics = ("si_sdr", "sdr", "si_sdri", "rt60", "drr_db", "label")
    assert [[r[m] for m in metrics] for r in sorted(rows["files"], key=key)] == [
        [r[m] for m in metrics] for r in sorted(rows["shards"], key=key)]  # fmt: skip
    for summary in (files, shards):
        assert summary["provenance"]["benchmark"]["name"] == "tiny-bench"
    assert files["provenance"]["benchmark"] == shards["provenance"]["benchmark"]
    load_results([tmp_path / "files", tmp_path / "shards"])  # one benchmark build: ranked together


def test_benchmark_files_are_checked_before_scoring(built, tmp_path):
    folder = _copy(built, tmp_path)
    target = sorted((folder / "render" / "val").glob("*/target0_direct.flac"))[0]
    target.write_bytes(target.read_bytes()[:-1] + b"\0")
    with pytest.raises(ValueError, match="benchmark verify"):
        _eval(built, tmp_path / "r", "mixture", benchmark=str(folder), benchmark_split="val")


def test_leaderboard_refuses_two_different_builds_of_one_benchmark(built, tmp_path):
    root, banks, _, _, _ = built
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(_definition(root, banks, splits={"train": "dynamic", "val": {"mixtures": N_VAL,
                     "seed": 11}, "test": {"mixtures": N_TEST, "seed": 99}})))  # fmt: skip
    build_benchmark(other, tmp_path / "other", workers=1, progress=False)
    _eval(built, tmp_path / "r1", "mixture", benchmark=str(root / "a"))
    _eval(built, tmp_path / "r2", "mixture", benchmark=str(root / "b"))
    _eval(built, tmp_path / "r3", "mixture", benchmark=str(tmp_path / "other"))
    assert len(load_results([tmp_path / "r1", tmp_path / "r2"])) == 2  # identical builds: one benchmark
    with pytest.raises(LeaderboardError, match="different builds of benchmark 'tiny-bench'"):
        load_results([tmp_path / "r1", tmp_path / "r3"], allow_mixed_manifests=True)


def test_shipped_definition_meets_the_issue(tmp_path):
    defn = load_definition("starter-v1")
    assert defn.split("test").mixtures >= 300 and defn.split("val").mixtures >= 100
    assert defn.dynamic == ("train",)
    rooms = next(b for b in defn.banks if b.builder == "simulated").options["spec"]
    test_fraction = dict(defn.scene.splits)["test"] / sum(dict(defn.scene.splits).values())
    assert rooms["rooms"] * test_fraction >= 20
    assert defn.scene.targets.count.support() == (1, 3) and not defn.scene.targets.repeat_classes
    assert defn.data["duration_rationale"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**defn.data, "splits": {"val": {"mixtures": 3, "seed": 1}}}))
    with pytest.raises(DefinitionError, match="name every split"):
        load_definition(bad)


def test_encoder_and_demo_hold_out_the_starter_benchmarks_test_groups(tmp_path):
    """The built-in encoder's held-out clips are dealt exactly as starter-v1's test groups (same fractions and seed),
    and the demo samples its splits with starter-v1's own scene spec: neither the encoder nor a reference trained on
    starter-v1 saw a group of their test splits."""
    from foabench.benchmark.demo import DEMO_BENCHMARK, write_demo_spec
    from foabench.synth.scenes.spec import load_spec

    scene = load_definition("starter-v1").scene
    assert (TrainConfig().splits, TrainConfig().split_seed) == (scene.splits, scene.split_seed)
    assert TrainConfig().held_out_split == "test" and DEMO_BENCHMARK == "starter-v1"
    assert load_spec(write_demo_spec(tmp_path)) == scene
