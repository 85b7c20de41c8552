"""The renderer's fast paths against the straightforward convolution, and what they must not change."""

import numpy as np
import pytest
import scipy.fft
from scipy.signal import fftconvolve

from foabench.synth.banks.bank_set import BankSet
from foabench.synth.scenes.levels import rms
from foabench.synth.scenes.render import FFT_SIZE_STEP, REFERENCES, Renderer, direct_window, fft_size
from foabench.synth.scenes.sampler import sample_manifest
from foabench.synth.scenes.spec import parse_spec
from tests.scene_fixtures import SR, TEST_SPEC, build_scene_banks


@pytest.fixture(scope="module")
def bank_root(tmp_path_factory):
    return build_scene_banks(tmp_path_factory.mktemp("banks"), tmp_path_factory.mktemp("audio"))


@pytest.fixture(scope="module")
def rows(bank_root):
    banks = list(BankSet.open([bank_root]).banks.values())
    return sample_manifest(parse_spec(TEST_SPEC, "test"), banks, "train", 10, seed=11)[1]


def _smooth(n: int) -> bool:
    for p in (2, 3, 5):
        while n % p == 0:
            n //= p
    return n == 1


def test_fft_sizes_are_the_smallest_fast_multiples():
    for n in [1, 1023, 1024, 1025, 5000, 66_000, 91_001, 359_999, 1_000_003]:
        size = fft_size(n)
        assert size >= n and size % FFT_SIZE_STEP == 0 and _smooth(size)
        smaller = [m for m in range(FFT_SIZE_STEP, size, FFT_SIZE_STEP) if m >= n and _smooth(m)]
        assert not smaller, (n, size, smaller)


def _straightforward(renderer: Renderer, row: dict, meta: dict) -> tuple[np.ndarray, list[dict]]:
    """float64 mixture and references from per-event ``fftconvolve`` at the gains the renderer recorded."""
    n = row["num_frames"]
    scale = 10 ** (meta["clip_gain_db"] / 20)
    clip = renderer.audio(row["noise"], 4).astype(np.float64)
    mixture = np.take(clip, (row["noise"]["offset"] + np.arange(n)) % len(clip), axis=0)
    mixture *= 10 ** (meta["noise"]["gain_db"] / 20)
    refs = []
    for ev, ev_meta in zip(row["events"], meta["events"], strict=True):
        x = renderer.audio(ev["source"], 1)[ev["source_offset"] : ev["source_offset"] + ev["length"], 0]
        x = x.astype(np.float64) * 10 ** (ev_meta["gain_db"] / 20)
        rir = renderer.audio(ev["rir"], 4).astype(np.float64)
        wet = np.zeros((n, 4))
        y = fftconvolve(x[:, None], rir, axes=0)[: n - ev["onset"]]
        wet[ev["onset"] : ev["onset"] + len(y)] = y
        mixture += wet
        if ev["role"] == "target":
            d = renderer.banks.record(ev["rir"]).direct_sample
            h = np.zeros(len(rir))
            win = direct_window(d, len(rir), SR)
            h[win] = rir[win, 0]
            direct = np.zeros(n)
            full = np.convolve(x, h)[: n - ev["onset"]]
            direct[ev["onset"] : ev["onset"] + len(full)] = full
            dry = np.zeros(n)
            part = x[: max(0, n - ev["onset"] - d)]
            dry[ev["onset"] + d : ev["onset"] + d + len(part)] = part
            refs.append({"direct": direct * scale, "dry": dry * scale, "wet": wet * scale})
    return mixture * scale, refs


def test_mixture_and_references_equal_the_straightforward_convolution(bank_root, rows):
    renderer = Renderer(BankSet.open([bank_root]))
    for row in rows:
        out = renderer.render(row)
        mixture, refs = _straightforward(renderer, row, out.metadata)
        peak = np.abs(mixture).max()
        assert np.abs(out.mixture - mixture).max() < 2e-6 * peak + 1e-8
        assert len(out.references) == len(refs)
        for got, want in zip(out.references, refs, strict=True):
            assert set(got) == set(REFERENCES)
            for name in REFERENCES:
                assert got[name].dtype == np.float32 and got[name].shape == want[name].shape
                assert np.abs(got[name] - want[name]).max() < 2e-6 * np.abs(want[name]).max() + 1e-8, name
        # each event's level holds on the wet image the renderer measured
        for ev, refs_k in zip([e for e in row["events"] if e["role"] == "target"], out.references, strict=True):
            scale = 10 ** (out.metadata["clip_gain_db"] / 20)
            level = 20 * np.log10(rms(refs_k["wet"][ev["onset"] : ev["onset"] + ev["length"], 0]) / scale)
            assert level == pytest.approx(row["noise"]["level_dbfs"] + ev["snr_db"], abs=1e-3)


def test_references_are_built_when_read_and_do_not_change_the_mixture(bank_root, rows):
    full, lazy = Renderer(BankSet.open([bank_root])), Renderer(BankSet.open([bank_root]))
    for row in rows:
        a = full.render(row)
        every = [{name: refs[name].copy() for name in REFERENCES} for refs in a.references]
        b = lazy.render(row)
        assert all(refs._built == {} for refs in b.references)  # nothing built before it is read
        direct = [refs["direct"] for refs in b.references]
        assert all(set(refs._built) == {"direct"} for refs in b.references)
        assert np.array_equal(a.mixture, b.mixture) and a.metadata == b.metadata
        assert all(np.array_equal(d, e["direct"]) for d, e in zip(direct, every, strict=True))
        assert all(refs["direct"] is d for refs, d in zip(b.references, direct, strict=True))  # built once
        with pytest.raises(KeyError):
            b.references[0]["reverb"]


def test_a_render_does_not_depend_on_the_cache_or_the_lanes_it_shared(bank_root, rows):
    cold = Renderer(BankSet.open([bank_root]))
    first = {row["id"]: cold.render(row) for row in rows}
    warm = Renderer(BankSet.open([bank_root]))
    for row in reversed(rows):  # other rows first: other spectra cached, other misses batched
        warm.render(row)
    for row in rows:
        again = warm.render(row)
        assert np.array_equal(again.mixture, first[row["id"]].mixture)
        for r1, r2 in zip(again.references, first[row["id"]].references, strict=True):
            assert all(np.array_equal(r1[name], r2[name]) for name in REFERENCES)
    # the property that allows it: a real FFT lane gives the same bits alone and beside another lane
    rng = np.random.default_rng(0)
    for size in (fft_size(5000), fft_size(91_000)):
        pair = rng.standard_normal((size, 2)).astype(np.float32)
        both = scipy.fft.rfft(pair, axis=0)
        for j in range(2):
            assert np.array_equal(both[:, j], scipy.fft.rfft(np.ascontiguousarray(pair[:, j])))
