"""``foabench export-hf``: parquet shards, round trip through ``datasets``, dataset card, resume, bad input."""

import hashlib
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from foabench.benchmark.cli import main as cli
from foabench.manifests.hf_card import governing_licence, licence_tier, render_card
from foabench.manifests.hf_cli import DEFAULT_CACHE, DEFAULT_ENCODER, DEFAULT_SHARD_MB
from foabench.manifests.hf_export import DEFAULT_CACHE as LIB_CACHE
from foabench.manifests.hf_export import DEFAULT_ENCODER as LIB_ENCODER
from foabench.manifests.hf_export import DEFAULT_SHARD_MB as LIB_SHARD_MB
from foabench.manifests.hf_export import export_hf, plan_shards
from foabench.manifests.hf_reader import decode_row, iter_rows, read_index
from foabench.manifests.hf_schema import ExportError
from foabench.synth.audio_io import read_audio, sha256_file
from foabench.synth.banks.bank_set import BankSet, InputError
from foabench.synth.banks.builder import BankBuilder, ClipSource
from foabench.synth.banks.clip_rules import ClipRules
from foabench.synth.queries.export import export_queries, load_query_file
from foabench.synth.queries.registry import open_encoder
from foabench.synth.queries.train_encoder import TrainConfig, train_builtin_encoder
from foabench.synth.scenes.manifest import ManifestError, write_manifest
from foabench.synth.scenes.render import Renderer
from foabench.synth.scenes.render_split import render_manifest
from foabench.synth.scenes.sampler import sample_manifest
from foabench.synth.scenes.spec import parse_spec
from tests.audio_fixtures import write_tone
from tests.scene_fixtures import CLASSES, SR, TEST_SPEC, build_scene_banks

# a second source bank whose licences differ by class, so the card has a licence to single out
LICENCES = {"bell": "MIT", "bird": "CC-BY-4.0", "dog": "CC-BY-SA-4.0", "drum": "GPL-2.0"}
ORDER = ["CC0-1.0", "MIT", "CC-BY-4.0", "CC-BY-SA-4.0", "GPL-2.0"]  # least to most restrictive
HUB = {"CC0-1.0": "cc0-1.0", "MIT": "mit", "CC-BY-4.0": "cc-by-4.0", "CC-BY-SA-4.0": "cc-by-sa-4.0",
       "GPL-2.0": "gpl-2.0"}  # fmt: skip


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """Banks, a briefly trained encoder, test (5 rows) and val (3 rows) manifests, and the test split rendered."""
    root = tmp_path_factory.mktemp("hf")
    banks = build_scene_banks(root / "banks", root / "audio")
    extra = BankBuilder(banks / "licensed", "licensed", ClipRules(sample_rate=SR))
    for i, label in enumerate(CLASSES):
        for g in range(3):
            path = write_tone(root / "audio" / "licensed" / f"{label}{g}.wav", SR, 0.7, seed=500 + 10 * i + g)
            extra.add(ClipSource(f"{label}/x{g}", f"{label}/x{g}", [label], f"a {label}", LICENCES[label],
                                 f"{label} recordist {g}", f"lic-{label}-{g}", path=str(path)))  # fmt: skip
    extra.build(workers=1, progress=False)
    train_builtin_encoder(banks / "clips", root / "encoder", TrainConfig(steps=3, batch_size=8), progress=False)
    bank_list = list(BankSet.open([banks]).banks.values())
    manifests = {}
    for split, n in (("test", 5), ("val", 3)):
        header, rows = sample_manifest(parse_spec(TEST_SPEC), bank_list, split, n, seed=7)
        manifests[split] = write_manifest(root / f"{split}.jsonl", header, rows)[0]
    render_manifest(manifests["test"], root / "render", [banks], workers=1, progress=False)
    return root, banks, manifests


def _export(ws, out, **kw):
    root, banks, manifests = ws
    opts = dict(encoder=str(root / "encoder"), cache=root / "cache", shard_size_mb=0.12, workers=1, progress=False)
    return export_hf([manifests["test"], manifests["val"]], out, [banks], **{**opts, **kw})


@pytest.fixture(scope="module")
def exported(ws, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "ds"
    return out, _export(ws, out)


def _card(out) -> tuple[dict, str]:
    text = (out / "README.md").read_text()
    _, header, body = text.split("---\n", 2)
    return yaml.safe_load(header), body


def test_shards_round_trip_bit_exact(ws, exported):
    root, _, _ = ws
    out, report = exported
    index = read_index(out)
    assert len(index["splits"]["test"]["shards"]) >= 2  # the small shard size splits the test split
    assert report.written == [s["file"] for sp in ("test", "val") for s in index["splits"][sp]["shards"]]
    for split in ("test", "val"):
        for shard in index["splits"][split]["shards"]:
            assert (
                sha256_file(out / shard["file"]) == shard["sha256"]
                and (out / shard["file"]).stat().st_size == (shard["bytes"])
            )
    queries = load_query_file(_queries(ws))
    seen = 0
    for row in iter_rows(out, "test", decode=False):
        folder = root / "render" / row["id"]
        files = json.loads((folder / "meta.json").read_text())["files"]
        assert hashlib.sha256(row["mixture"]).hexdigest() == files["mixture.flac"]
        decoded = decode_row(row)
        wave, sr = read_audio(folder / "mixture.flac")
        assert sr == decoded["sample_rate"] and np.array_equal(decoded["mixture"], wave)
        assert decoded["mixture"].dtype == np.float32 and decoded["mixture"].shape == (row["num_frames"], 4)
        for k, (raw, target) in enumerate(zip(row["targets"], decoded["targets"], strict=True)):
            for name in ("direct", "dry", "wet"):
                assert hashlib.sha256(raw[name]).hexdigest() == files[f"target{k}_{name}.flac"]
                wave, _ = read_audio(folder / f"target{k}_{name}.flac")
                assert np.array_equal(target[name], wave[:, 0] if name != "wet" else wave)
            # the embeddings are those `foabench queries export` computes for the same target
            q = queries["keys"].index(f"{row['id']}/{target['event']}")
            assert np.array_equal(target["embedding_target"], queries["target"][q])
            assert np.array_equal(target["embedding_text"], queries["text_query"][q])
            if target["query_audio"] is not None:
                assert np.array_equal(target["embedding_audio_query"], queries["audio_query"][q])
        assert decoded["row"]["id"] == row["id"] and decoded["encoder_hash"] == open_encoder(root / "encoder").hash
        seen += 1
    assert seen == 5


def _queries(ws):
    root, banks, manifests = ws
    path = root / "test_queries.npz"
    if not path.is_file():
        bank_set = BankSet.open([banks])
        export_queries(manifests["test"], open_encoder(root / "encoder"), bank_set, root / "cache", path, False)
    return path


def test_datasets_loads_the_shards(exported, tmp_path):
    import datasets

    out, _ = exported
    cache = str(tmp_path / "hf-cache")
    files = {s: sorted(str(p) for p in (out / "data").glob(f"{s}-*.parquet")) for s in ("test", "val")}
    by_files = datasets.load_dataset("parquet", data_files=files, cache_dir=cache)
    by_card = datasets.load_dataset(str(out), cache_dir=cache)  # the card's configs name the splits and files
    assert by_files["test"].num_rows == by_card["test"].num_rows == 5 and by_card["val"].num_rows == 3
    assert by_card["test"].features == by_files["test"].features
    direct = list(iter_rows(out, "test", decode=False))
    assert [r["id"] for r in by_card["test"]] == [r["id"] for r in direct]
    streamed = list(datasets.load_dataset(str(out), split="test", streaming=True))
    assert [r["mixture"] for r in streamed] == [r["mixture"] for r in direct]
    a, b = decode_row(by_card["test"][1]), decode_row(streamed[1])
    assert np.array_equal(a["mixture"], b["mixture"]) and np.array_equal(
        a["targets"][0]["embedding_text"], b["targets"][0]["embedding_text"]
    )


def test_card_names_the_most_restrictive_licence(ws, exported):
    _, banks, manifests = ws
    out, _ = exported
    header, body = _card(out)
    assert header["configs"] == [{"config_name": "default", "data_files": [
        {"split": "test", "path": "data/test-*.parquet"}, {"split": "val", "path": "data/val-*.parquet"}]}]  # fmt: skip
    assert {s["name"]: s["num_examples"] for s in header["dataset_info"]["splits"]} == {"test": 5, "val": 3}
    assert [f["name"] for f in header["dataset_info"]["features"]][:7] == [
        "id", "split", "index", "seed", "sample_rate", "num_frames", "mixture"]  # fmt: skip
    # the licences of every clip the rows use, read from the banks here
    bank_set = BankSet.open([banks])
    used = set()
    for path in manifests.values():
        for line in path.read_text().splitlines():
            row = json.loads(line)
            refs = [ev[k] for ev in row["events"] for k in ("source", "rir")] + [row["noise"]]
            refs += [ev["query"]["audio"] for ev in row["events"] if (ev.get("query") or {}).get("audio")]
            used |= {bank_set.record(ref).license for ref in refs}
    worst = max(used, key=ORDER.index)
    assert len(used) >= 3 and worst == "GPL-2.0"  # the fixture draws clips of several licences
    assert header["license"] == HUB[worst]
    assert f"most restrictive source licence governs this dataset: `{worst}`" in body
    assert all(f"| {lic} |" in body for lic in used)
    assert "Encoder `foabench-builtin" in body


def test_rerun_skips_and_repairs(ws, exported, tmp_path):
    out, _ = exported
    index = read_index(out)
    shards = [out / s["file"] for sp in ("test", "val") for s in index["splits"][sp]["shards"]]
    before = {p: (p.stat().st_mtime_ns, p.stat().st_ino, sha256_file(p)) for p in shards}
    card = (out / "README.md").stat().st_mtime_ns
    report = _export(ws, out)
    assert report.written == [] and len(report.skipped) == len(shards) and report.rows_rendered == 0
    assert {p: (p.stat().st_mtime_ns, p.stat().st_ino, sha256_file(p)) for p in shards} == before
    assert (out / "README.md").stat().st_mtime_ns == card
    # a deleted and a corrupted shard are written again, the others kept, and the bytes come back identical
    shards[0].unlink()
    shards[-1].write_bytes(shards[-1].read_bytes()[:-100] + bytes(100))
    report = _export(ws, out, workers=2)
    assert report.written == [f"data/{shards[0].name}", f"data/{shards[-1].name}"]
    assert len(report.skipped) == len(shards) - 2
    assert {p: sha256_file(p) for p in shards} == {p: v[2] for p, v in before.items()}
    # a new shard size is a new plan: the old files of the split go
    other = tmp_path / "copy"
    _export(ws, other, shard_size_mb=0.12)
    report = _export(ws, other, shard_size_mb=100)
    assert sorted(p.name for p in (other / "data").iterdir()) == [
        "test-00000-of-00001.parquet", "val-00000-of-00001.parquet"]  # fmt: skip
    assert len(report.removed) == len(shards)


def test_interrupted_export_resumes(ws, exported, tmp_path, monkeypatch):
    out, _ = exported
    real = Renderer.render
    calls = []

    def flaky(self, row):
        calls.append(row["id"])
        if len(calls) == 5 + 3 + 3:  # the plan renders the splits' first rows (5 + 3); then the shards, in order
            raise KeyboardInterrupt
        return real(self, row)

    monkeypatch.setattr(Renderer, "render", flaky)
    with pytest.raises(KeyboardInterrupt):
        _export(ws, tmp_path / "cut")
    monkeypatch.setattr(Renderer, "render", real)
    index = read_index(tmp_path / "cut")
    assert not index["splits"]["test"]["complete"] and index["splits"]["test"]["shards"]
    assert not list((tmp_path / "cut" / "data").glob(".*"))  # no temp file left behind
    finished = [s["file"] for s in index["splits"]["test"]["shards"]]
    report = _export(ws, tmp_path / "cut")
    assert report.skipped == finished and report.written
    for p in sorted((out / "data").glob("*.parquet")):
        assert (tmp_path / "cut" / "data" / p.name).read_bytes() == p.read_bytes()


def test_parquet_writer_is_deterministic(exported, ws, tmp_path):
    out, _ = exported
    again = tmp_path / "again"
    _export(ws, again)
    assert (again / "shards.json").read_bytes() == (out / "shards.json").read_bytes()
    for p in sorted((out / "data").glob("*.parquet")):
        assert (again / "data" / p.name).read_bytes() == p.read_bytes()
        assert pq.ParquetFile(p).metadata.num_row_groups >= 1


def test_without_embeddings(ws, tmp_path):
    _, banks, manifests = ws
    report = export_hf([manifests["val"]], tmp_path / "noemb", [banks], encoder=None, workers=1, progress=False)
    row = next(iter_rows(tmp_path / "noemb", "val"))
    assert row["encoder_name"] is None and row["targets"][0]["embedding_target"] is None
    assert report.index["encoder"] is None and "without an encoder" in (tmp_path / "noemb" / "README.md").read_text()
    # a split exported later into the same folder joins the earlier one
    export_hf([manifests["test"]], tmp_path / "noemb", [banks], encoder=None, workers=1, progress=False)
    header, _ = _card(tmp_path / "noemb")
    assert [s["split"] for s in header["configs"][0]["data_files"]] == ["test", "val"]
    assert sorted(read_index(tmp_path / "noemb")["splits"]) == ["test", "val"]


def test_bad_input_is_refused(ws, exported, tmp_path, capsys):
    _, banks, manifests = ws
    with pytest.raises(ManifestError, match="no manifest header"):
        export_hf([tmp_path / "missing.jsonl"], tmp_path / "o", [banks], encoder=None, progress=False)
    header = json.loads(manifests["val"].with_name("val.header.json").read_text())
    rows = [json.loads(line) for line in manifests["val"].read_text().splitlines()]
    changed = json.loads(json.dumps(header))
    changed["banks"]["clips"]["fingerprint"] = "0" * 64
    write_manifest(tmp_path / "bad" / "val.jsonl", changed, rows)
    with pytest.raises(InputError, match="fingerprint"):
        export_hf([tmp_path / "bad" / "val.jsonl"], tmp_path / "o", [banks], encoder=None, progress=False)
    with pytest.raises(InputError, match="not found"):
        export_hf([manifests["val"]], tmp_path / "o", [banks / "rooms"], encoder=None, progress=False)
    write_manifest(tmp_path / "again" / "val.jsonl", header, rows)
    with pytest.raises(ExportError, match="one manifest per split"):
        export_hf([manifests["val"], tmp_path / "again" / "val.jsonl"], tmp_path / "o", [banks], encoder=None)
    with pytest.raises(ExportError, match="positive"):
        export_hf([manifests["val"]], tmp_path / "o", [banks], encoder=None, shard_size_mb=0)
    future = tmp_path / "future"
    future.mkdir()
    (future / "shards.json").write_text(json.dumps({"schema_version": 99, "splits": {}}))
    with pytest.raises(ExportError, match="newer"):
        export_hf([manifests["val"]], future, [banks], encoder=None, progress=False)
    row = next(iter_rows(exported[0], "val", decode=False))
    with pytest.raises(ExportError, match="newer"):
        decode_row({**row, "export_version": 99})
    code = cli(["export-hf", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o"), "--banks", str(banks),
                "--no-embeddings", "--no-progress"])  # fmt: skip
    assert code == 2 and "no manifest header" in capsys.readouterr().err


def test_licence_ranking_and_card_flags():
    starter = ["MIT", "GPL-2", "CC0", "CC-BY-SA-3.0-us", "GPL-2+ with composition exception", "Flite-BSD",
               "EST-2003", "Festival-voice (permissive; see the Debian festvox package copyright)"]  # fmt: skip
    gov = governing_licence(starter)
    assert gov["licences"] == ["GPL-2", "GPL-2+ with composition exception"] and gov["hub_id"] == "gpl-2.0"
    assert gov["unknown"] == []
    assert governing_licence([*starter, "CC-BY-NC-SA-4.0"])["hub_id"] == "cc-by-nc-sa-4.0"
    assert governing_licence(["GPL-2", "GPL-3.0"])["hub_id"] == "other"
    assert [licence_tier(x) for x in ("CC0-1.0", "MIT", "CC-BY-4.0", "CC-BY-SA-4.0", "GPL-3.0", "CC-BY-NC-3.0",
                                      "CC-BY-NC-SA-4.0", "CC-BY-NC-ND-4.0")] == list(range(8))  # fmt: skip
    odd = governing_licence(["MIT", "DCASE2025-Task4-dev (per-clip licences in the dataset's LICENSE file)"])
    assert odd["hub_id"] == "unknown" and odd["unknown"] == [odd["licences"][0]]
    entry = {"bank": "b", "licence": "DCASE2025-Task4-dev (see LICENSE)", "attribution": "", "clips": 2,
             "roles": ["source"]}  # fmt: skip
    split = {"manifest": "t.jsonl", "rows_sha256": "0" * 64, "num_rows": 1, "num_targets": 1, "sample_rates": [16000],
             "banks": {}, "licences": [entry], "shards": []}  # fmt: skip
    text = render_card({"generator": "foabench 0.1.0", "encoder": None, "splits": {"test": split}})
    header = yaml.safe_load(text.split("---\n")[1])
    assert header["license"] == "unknown" and "Unrecognised licence strings" in text


def test_shard_plan_and_cli_defaults():
    assert plan_shards([3, 3, 3, 10, 1], 6) == [[0, 1], [2], [3], [4]]
    assert plan_shards([], 6) == []
    assert (DEFAULT_SHARD_MB, DEFAULT_ENCODER, DEFAULT_CACHE) == (LIB_SHARD_MB, LIB_ENCODER, LIB_CACHE)
