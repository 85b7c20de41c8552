"""The renderer's fast paths against the straightforward convolution, and what they must not change; the torch
mixing path against the numpy renderer; the guard that leaves a ``direct`` unconvolved."""

import numpy as np
import pytest
import scipy.fft
import torch
from scipy.signal import fftconvolve

from foabench.synth.banks.bank_set import BankSet
from foabench.synth.scenes.levels import PEAK_CEILING, clip_gain, clip_gain_bounded, rms
from foabench.synth.scenes.render import FFT_SIZE_STEP, REFERENCES, Renderer, direct_window, fft_size
from foabench.synth.scenes.render_torch import mix_batch
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


def _loud(row: dict) -> dict:
    """The row with its first event 40 dB louder and its noise at -3 dBFS: the clipping guard acts."""
    row = {**row, "noise": {**row["noise"], "level_dbfs": -3.0}, "events": [dict(e) for e in row["events"]]}
    row["events"][0]["snr_db"] = 40.0
    return row


def test_a_batch_mixed_with_torch_equals_the_numpy_render(bank_root, rows):
    renderer = Renderer(BankSet.open([bank_root]))
    batch = [r for r in rows if any(e["role"] == "target" for e in r["events"])] + [_loud(rows[0])]
    choices = [r["seed"] % sum(e["role"] == "target" for e in r["events"]) for r in batch]
    got = mix_batch([renderer.inputs(r) for r in batch], choices, "cpu")
    assert got.mixtures.shape == (len(batch), batch[0]["num_frames"], 4) and got.mixtures.dtype == torch.float32
    clipped = 0
    for b, (row, k) in enumerate(zip(batch, choices, strict=True)):
        want = renderer.render(row)
        peak = np.abs(want.mixture).max()
        assert np.abs(got.mixtures[b].numpy() - want.mixture).max() < 2e-5 * peak
        direct = want.references[k]["direct"]
        assert np.abs(got.directs[b].numpy() - direct).max() < 2e-5 * np.abs(direct).max() + 1e-9
        assert float(got.clip_gains[b]) == pytest.approx(10 ** (want.metadata["clip_gain_db"] / 20), rel=1e-5)
        clipped += want.metadata["clip_gain_db"] < 0
        gains = [m["gain_db"] for m in want.metadata["events"]]
        mine = got.gains[[i for i, (bb, _) in enumerate(_owners(batch)) if bb == b]].numpy()
        np.testing.assert_allclose(20 * np.log10(mine), gains, atol=1e-4)
    assert clipped >= 1  # the loud row went through the guard
    assert np.abs(got.mixtures.numpy()).max() <= PEAK_CEILING + 1e-6


def _owners(batch):
    return [(b, k) for b, r in enumerate(batch) for k in range(len(r["events"]))]


def test_a_batch_needs_one_length_and_real_target_choices(bank_root, rows):
    renderer = Renderer(BankSet.open([bank_root]))
    shorter = {**rows[1], "num_frames": rows[1]["num_frames"] - 1}
    with pytest.raises(ValueError, match="one length"):
        mix_batch([renderer.inputs(rows[0]), renderer.inputs(shorter)], [0, 0])
    with pytest.raises(ValueError, match="no target 5"):
        mix_batch([renderer.inputs(rows[0])], [5])


def test_an_unneeded_direct_is_never_convolved_and_a_needed_one_always_is():
    calls = []

    def exact(value):
        return lambda: calls.append(value) or value

    # bounds under the ceiling: nothing computed, no clipping
    assert clip_gain_bounded([0.5], [(0.9, exact(0.8))]) == 1.0 and calls == []
    # a bound above the ceiling is resolved; the exact peak decides
    assert clip_gain_bounded([0.5], [(1.5, exact(0.7))]) == 1.0 and calls == [0.7]
    assert clip_gain_bounded([0.5], [(1.5, exact(1.2))]) == clip_gain([0.5, 1.2])
    # a bound under a larger known peak cannot matter
    calls.clear()
    assert clip_gain_bounded([2.0], [(1.9, exact(1.8))]) == clip_gain([2.0]) and calls == []


def test_reading_only_the_mixture_convolves_only_the_directs_the_guard_needs(bank_root, rows):
    from foabench.synth.scenes import mix

    renderer = Renderer(BankSet.open([bank_root]))
    counted = []
    real = mix.short_convolution
    try:
        mix.short_convolution = lambda *a, **k: counted.append(1) or real(*a, **k)
        quiet = renderer.render(rows[0])
        assert counted == []  # quiet scene: every bound under the ceiling
        loud = renderer.render(_loud(rows[0]))
        n_loud = len(counted)
        for refs in loud.references:
            refs["direct"]
        assert len(counted) == sum(1 for e in rows[0]["events"] if e["role"] == "target")  # each once
        assert n_loud <= len(counted)
    finally:
        mix.short_convolution = real
    assert quiet.metadata["clip_gain_db"] == 0.0 and loud.metadata["clip_gain_db"] < 0


def test_short_convolution_equals_direct_convolution_at_every_block_size():
    from foabench.synth.scenes.convolve import BLOCK_SIZES, block_size, filter_spectrum, short_convolution

    rng = np.random.default_rng(4)
    for length, taps in [(1, 5), (300, 1793), (6392, 1793), (58_080, 1793), (200_000, 897), (10, 3000)]:
        x = rng.standard_normal(length).astype(np.float32)
        h = rng.standard_normal(taps).astype(np.float32)
        want = np.convolve(x.astype(np.float64), h.astype(np.float64))
        chosen = block_size(length, taps)
        assert chosen >= 2 * taps
        for size in {chosen, *[s for s in BLOCK_SIZES if s >= 2 * taps][:2]}:
            for count in (len(want), len(want) // 2):
                got = short_convolution(x, filter_spectrum(h, size), taps, size, count)
                assert got.dtype == np.float32 and got.shape == (count,)
                assert np.abs(got - want[:count]).max() < 1e-5 * np.abs(want).max()
    # the chosen size has the fewest lane-samples (blocks rounded up to whole batches of four)
    assert block_size(58_080, 1793) == 16384 and block_size(300, 1793) == 4096 and block_size(20_000, 1793) == 8192
