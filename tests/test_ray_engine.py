"""The Ray engine: a small local Ray job renders and exports the same bytes as the single-process path."""

import json
import time

import pytest

from foabench.manifests.hf_export import export_hf
from foabench.manifests.hf_reader import read_index
from foabench.synth.audio_io import sha256_file
from foabench.synth.banks.bank_set import BankSet
from foabench.synth.scenes.manifest import write_manifest
from foabench.synth.scenes.ray_engine import ray_map
from foabench.synth.scenes.render_split import render_manifest
from foabench.synth.scenes.sampler import sample_manifest
from foabench.synth.scenes.spec import parse_spec
from tests.scene_fixtures import TEST_SPEC, build_scene_banks

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray instance with 2 CPUs for the whole module (foabench uses an initialised Ray as it is)."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    root = tmp_path_factory.mktemp("ray")
    banks = build_scene_banks(root / "banks", root / "audio")
    header, rows = sample_manifest(parse_spec(TEST_SPEC), list(BankSet.open([banks]).banks.values()), "test", 6, 3)
    return root, banks, write_manifest(root / "test.jsonl", header, rows)[0]


def _offset(k: int) -> int:
    return k


def _add(state: int, item: tuple[int, float]) -> int:
    value, delay = item
    if value < 0:
        raise ValueError(f"negative item {value}")
    time.sleep(delay)
    return value + state


def test_ray_map_keeps_order_and_raises_worker_errors(local_ray):
    items = [(i, 0.05 * ((i * 7) % 3)) for i in range(9)]  # uneven delays: completion order differs from input
    assert list(ray_map(_offset, _add, items, setup_args=(100,), workers=2, window=3)) == [100 + i for i in range(9)]
    with pytest.raises(ValueError, match="negative item -1"):
        list(ray_map(_offset, _add, [(1, 0.0), (-1, 0.0), (2, 0.0)], setup_args=(0,), workers=2))
    assert ray.is_initialized()  # a Ray the caller started stays up


def _hashes(folder):
    return {p.parent.name: json.loads(p.read_text())["files"] for p in sorted(folder.glob("*/meta.json"))}


def test_ray_render_matches_local(local_ray, scene):
    root, banks, manifest = scene
    local = render_manifest(manifest, root / "local", [banks], workers=1, progress=False)
    distributed = render_manifest(manifest, root / "ray", [banks], workers=2, engine="ray", progress=False)
    assert local.counts == distributed.counts == {"rendered": 6}
    assert _hashes(root / "ray") == _hashes(root / "local") and len(_hashes(root / "local")) == 6
    for meta in sorted((root / "local").glob("*/*.flac")):
        assert (root / "ray" / meta.parent.name / meta.name).read_bytes() == meta.read_bytes()
    again = render_manifest(manifest, root / "ray", [banks], workers=2, engine="ray", progress=False)
    assert again.counts == {"skipped": 6}
    check = render_manifest(manifest, root / "ray", [banks], engine="ray", verify=True, progress=False)
    assert check.counts == {"verified": 6} and not check.problems


def test_ray_export_matches_local(local_ray, scene):
    root, banks, manifest = scene
    opts = dict(encoder=None, shard_size_mb=0.15, progress=False)
    export_hf([manifest], root / "hf-local", [banks], workers=1, **opts)
    export_hf([manifest], root / "hf-ray", [banks], workers=2, engine="ray", **opts)
    shards = read_index(root / "hf-local")["splits"]["test"]["shards"]
    assert len(shards) >= 2
    assert read_index(root / "hf-ray")["splits"]["test"]["shards"] == shards
    for s in shards:
        assert sha256_file(root / "hf-ray" / s["file"]) == sha256_file(root / "hf-local" / s["file"]) == s["sha256"]
    assert (root / "hf-ray" / "README.md").read_bytes() == (root / "hf-local" / "README.md").read_bytes()
