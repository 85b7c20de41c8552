"""Queries: the built-in encoder (real MiniLM text tower, trained audio tower), cache, recipes, manifests, export."""

import numpy as np
import pytest

from foabench.benchmark.cli import main as cli
from foabench.manifests.check import check_manifests
from foabench.synth.banks.bank_set import BankSet
from foabench.synth.banks.builder import BankBuilder, ClipSource
from foabench.synth.banks.clip_rules import ClipRules
from foabench.synth.queries.builtin import BuiltinEncoder, EncoderError
from foabench.synth.queries.cache import EmbeddingCache, cached_audio, cached_text
from foabench.synth.queries.export import export_queries, load_query_file
from foabench.synth.queries.pseudo import apply_recipe
from foabench.synth.queries.retrieval import recall_at_k
from foabench.synth.queries.train_encoder import TrainConfig, train_builtin_encoder
from foabench.synth.scenes.manifest import read_manifest, write_manifest
from foabench.synth.scenes.query_plan import CAPDEC_SIGMA, make_recipe
from foabench.synth.scenes.sampler import sample_manifest
from foabench.synth.scenes.spec import parse_spec
from foabench.synth.scenes.splits import plan_splits
from tests.audio_fixtures import write_wave
from tests.scene_fixtures import TEST_SPEC, build_scene_banks

SR = 16000
KINDS = {  # class -> (caption, generator of a distinctive sound)
    "whistle": ("a high whistle", lambda rng, t: np.sin(2 * np.pi * rng.uniform(2500, 3500) * t)),
    "hum": ("a low electrical hum", lambda rng, t: np.sign(np.sin(2 * np.pi * rng.uniform(80, 120) * t))),
    "hiss": ("a burst of white noise hiss", lambda rng, t: rng.standard_normal(len(t))),
    "knock": (
        "a knock on wood",
        lambda rng, t: np.sin(2 * np.pi * rng.uniform(300, 500) * t) * np.exp(-40 * (t % 0.25)),
    ),
    "chirp": ("a rising chirp", lambda rng, t: np.sin(2 * np.pi * (300 + rng.uniform(1000, 2000) * t) * t)),
}


@pytest.fixture(scope="module")
def encoder_setup(tmp_path_factory):
    """A 5-class bank of distinctive sounds (6 groups x 2 clips each) and an encoder trained on it."""
    audio = tmp_path_factory.mktemp("qaudio")
    root = tmp_path_factory.mktemp("qbanks")
    builder = BankBuilder(root / "sounds", "sounds", ClipRules(sample_rate=SR))
    rng = np.random.default_rng(0)
    for label, (caption, make) in KINDS.items():
        for g in range(6):
            for c in range(2):
                t = np.arange(int(SR * rng.uniform(0.6, 1.4))) / SR
                raw = make(rng, t)
                wave = (0.3 * raw / (np.max(np.abs(raw)) + 1e-9)).astype(np.float32)
                path = write_wave(audio / f"{label}{g}_{c}.wav", np.clip(wave, -0.5, 0.5), SR)
                key = f"{label}/{label}{g}_{c}"
                builder.add(ClipSource(key, key, [label], caption, "CC0-1.0", "", f"{label}-{g}", path=str(path)))
    builder.build(workers=1, progress=False)
    cfg = TrainConfig(steps=60, batch_size=20, crop_s=0.5)
    encoder = train_builtin_encoder(root / "sounds", root / "encoder", cfg, progress=False)
    return root, encoder


def test_builtin_encoder_interface_norm_and_determinism(encoder_setup):
    root, encoder = encoder_setup
    rng = np.random.default_rng(1)
    waves = [rng.standard_normal(n).astype(np.float32) * 0.1 for n in (4000, 16000, 40000)]
    a = encoder.embed_audio(waves, SR)
    t = encoder.embed_text(["a high whistle", "a knock on wood"])
    assert a.shape == (3, encoder.dim) and t.shape == (2, encoder.dim) and encoder.dim == 384
    assert a.dtype == np.float32 and t.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(t, axis=1), 1.0, atol=1e-5)
    again = BuiltinEncoder.load(root / "encoder")
    assert np.array_equal(again.embed_audio(waves, SR), a) and again.hash == encoder.hash
    assert np.array_equal(encoder.embed_text(["a high whistle"]), t[:1])
    resampled = encoder.embed_audio(waves, 32000)  # another rate is resampled, not misread
    assert resampled.shape == a.shape
    with pytest.raises(ValueError, match="NaN"):
        encoder.embed_audio([np.full(100, np.nan, dtype=np.float32)], SR)


def test_retrieval_beats_chance_on_held_out_clips(encoder_setup):
    _, encoder = encoder_setup
    report = encoder.info["held_out_retrieval"]
    assert report["clips"] >= 5
    for key in ("text_to_audio_r@1", "class_phrase_to_audio_r@1", "audio_to_audio_p@1"):
        assert report[key]["value"] >= report[key]["chance"] + 0.3, (key, report[key])
    assert encoder.info["training"]["held_out_clips"] == report["clips"]


def test_recall_and_chance_closed_form():
    sim = np.array([[0.9, 0.1, 0.2], [0.1, 0.8, 0.3]])
    hit, chance = recall_at_k(sim, ["a", "b"], ["a", "b", "b"], 1)
    assert hit == 1.0 and chance == pytest.approx((1 / 3 + 2 / 3) / 2)


def test_encoder_folder_is_checked(encoder_setup, tmp_path):
    root, _ = encoder_setup
    with pytest.raises(EncoderError, match="not a trained encoder"):
        BuiltinEncoder.load(tmp_path)
    import shutil

    shutil.copytree(root / "encoder", tmp_path / "enc")
    weights = tmp_path / "enc" / "audio_tower.pt"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(EncoderError, match="differ from the hash"):
        BuiltinEncoder.load(tmp_path / "enc")


def test_cache_hits_identical_content_and_misses_changed(encoder_setup, tmp_path):
    _, encoder = encoder_setup
    cache = EmbeddingCache(tmp_path, encoder.hash)
    rng = np.random.default_rng(3)
    clips = [rng.standard_normal(8000).astype(np.float32) * 0.1 for _ in range(3)]
    keys = [f"{i:064x}" for i in range(3)]
    first = cached_audio(cache, encoder, keys, lambda i: clips[i], SR)
    assert (cache.hits, cache.misses) == (0, 3)
    second = cached_audio(cache, encoder, keys, lambda i: clips[i], SR)
    assert (cache.hits, cache.misses) == (3, 3) and np.array_equal(first, second)
    cached_audio(cache, encoder, [f"{9:064x}", keys[0]], lambda i: clips[1], SR)  # new content hash: a miss
    assert (cache.hits, cache.misses) == (4, 4)
    text = cached_text(cache, encoder, ["a hum", "a hum"])
    assert np.array_equal(text[0], text[1])
    other = EmbeddingCache(tmp_path, "f" * 64)  # another encoder never sees these entries
    assert other.get(keys[0]) is None


@pytest.mark.parametrize("sigma", [0.03, CAPDEC_SIGMA, 0.3])
def test_gaussian_recipe_statistics(sigma):
    rng = np.random.default_rng(0)
    e = rng.standard_normal((400, 384))
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    q = apply_recipe(make_recipe("gaussian", 5, sigma=sigma), e)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-5)
    cos = np.sum(q * e, axis=1)
    assert cos.mean() == pytest.approx(1 / np.sqrt(1 + 384 * sigma**2), rel=0.02)
    assert np.array_equal(q, apply_recipe(make_recipe("gaussian", 5, sigma=sigma), e))
    assert not np.array_equal(q, apply_recipe(make_recipe("gaussian", 6, sigma=sigma), e))


def test_other_recipes():
    rng = np.random.default_rng(1)
    a, t = (v / np.linalg.norm(v) for v in rng.standard_normal((2, 384)))
    assert np.allclose(apply_recipe(make_recipe("clean", 0), a), a, atol=1e-6)
    mid = apply_recipe(make_recipe("interpolate", 2, lam_max=1.0), a, t)
    assert np.dot(mid, a) > 0.3 and np.dot(mid, t) > 0.0
    assert np.allclose(apply_recipe(make_recipe("interpolate", 2), a, None), a, atol=1e-6)  # no caption
    d = apply_recipe(make_recipe("dropout", 3, p=0.5), a)
    assert abs(np.mean(d == 0) - 0.5) < 0.1 and np.linalg.norm(d) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="unknown pseudo-query recipe"):
        make_recipe("magic", 0)
    with pytest.raises(ValueError, match="takes"):
        make_recipe("gaussian", 0, p=0.1)


@pytest.fixture(scope="module")
def scene_root(tmp_path_factory):
    return build_scene_banks(tmp_path_factory.mktemp("sbanks"), tmp_path_factory.mktemp("saudio"))


def test_manifest_queries_never_reuse_the_target(scene_root, tmp_path):
    banks = list(BankSet.open([scene_root]).banks.values())
    spec = parse_spec({**TEST_SPEC, "queries": {"text": "caption", "recipe": {"name": "gaussian", "sigma": 0.1}}})
    plan = plan_splits(banks, list(spec.splits), spec.split_seed)
    paths = []
    for split, n in (("train", 20), ("test", 6)):
        groups = {g for (_, g), s in plan.sources.items() if s == split}
        header, rows = sample_manifest(spec, banks, split, n, seed=2)
        paths.append(write_manifest(tmp_path / f"{split}.jsonl", header, rows)[0])
        for row in rows:
            for ev in row["events"]:
                if ev["role"] != "target":
                    assert "query" not in ev
                    continue
                q = ev["query"]
                assert q["audio"]["path"] != ev["source"]["path"]
                assert q["audio"]["path"].split("/")[0] == ev["label"]  # same class (folder per class)
                if len({g for g in groups if g.startswith(ev["label"])}) > 1:  # another recording where there is one
                    assert q["audio"]["group"] != ev["source"]["group"]
                assert q["text"] == f"a {ev['label']}" and q["text_source"] == "caption"
                assert q["recipe"]["name"] == "gaussian" and q["recipe"]["sigma"] == 0.1
    assert check_manifests(paths, banks=[scene_root]).ok  # query clips stay inside their split
    templ = parse_spec({**TEST_SPEC, "queries": {"text": "template"}})
    _, rows = sample_manifest(templ, banks, "train", 5, seed=2)
    assert all(e["query"]["text_source"] == "template" for r in rows for e in r["events"] if e["role"] == "target")


def test_query_export_and_cli(encoder_setup, scene_root, tmp_path, capsys):
    root, encoder = encoder_setup
    banks = BankSet.open([scene_root])
    header, rows = sample_manifest(parse_spec(TEST_SPEC), list(banks.banks.values()), "val", 4, seed=1)
    m = write_manifest(tmp_path / "val.jsonl", header, rows)[0]
    n = export_queries(m, encoder, banks, tmp_path / "cache", tmp_path / "q.npz", progress=False)
    data = load_query_file(tmp_path / "q.npz")
    targets = [(r, k, e) for r in read_manifest(m).rows for k, e in enumerate(r["events"]) if e["role"] == "target"]
    assert n == len(targets) == len(data["keys"]) and data["info"]["encoder_hash"] == encoder.hash
    for name in ("target", "audio_query", "text_query", "pseudo_query"):
        assert data[name].shape == (n, 384)
        np.testing.assert_allclose(np.linalg.norm(data[name], axis=1), 1.0, atol=1e-5)
    _, _, ev = targets[0]
    np.testing.assert_allclose(data["pseudo_query"][0], apply_recipe(ev["query"]["recipe"], data["target"][0],
                                                                      data["text_query"][0]), atol=1e-6)  # fmt: skip
    enc = str(root / "encoder")
    assert cli(["queries", "embed", "--encoder", enc, "--banks", str(scene_root), "--cache", str(tmp_path / "c")]) == 0
    assert "computed" in capsys.readouterr().out
    out = tmp_path / "q2.npz"
    args = ["queries", "export", str(m), "--encoder", enc, "--banks", str(scene_root), "--cache", str(tmp_path / "c")]
    assert cli([*args, "--out", str(out), "--no-progress"]) == 0
    assert np.array_equal(load_query_file(out)["pseudo_query"], data["pseudo_query"])
    assert cli(["queries", "eval", "--encoder", enc, "--bank", str(root / "sounds")]) == 0
    assert "text_to_audio_r@1" in capsys.readouterr().out
    assert cli(["queries", "eval", "--encoder", str(tmp_path / "none"), "--bank", str(root / "sounds")]) == 2
