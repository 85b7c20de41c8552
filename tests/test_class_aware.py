"""DCASE class-aware metrics: hand-computed cases for each rule and an independent implementation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from foabench.benchmark.class_aware import ca_sdri, capi_sdri, labels_match, mean_score

L = 256
# orthonormal signals: every energy below is a sum of squared coefficients, so SDRs are closed-form
U = np.linalg.qr(np.random.default_rng(0).standard_normal((L, 8)))[0].T


def db(signal_energy: float, error_energy: float) -> float:
    return 10 * math.log10(signal_energy / error_energy)


def sig(*coefficients: float) -> np.ndarray:
    return np.asarray(coefficients, dtype=np.float64) @ U[: len(coefficients)]


# a two-target mixture: dog = 2 u0, bird = 1 u1; interferer 1 u2 (energy of mixture minus target: 1 + 1, 4 + 1)
DOG, BIRD = sig(2), sig(0, 1)
MIX = sig(2, 1, 1)
DOG_EST = sig(2, 0, 0, 0.2)  # error energy 0.04
BIRD_EST = sig(0, 1, 0, 0, 0.5)  # error energy 0.25
DOG_SDRI = db(4, 0.04) - db(4, 2)
BIRD_SDRI = db(1, 0.25) - db(1, 5)


def test_ca_sdri_true_false_positives_and_negatives():
    assert ca_sdri(["dog", "bird"], [DOG_EST, BIRD_EST], ["dog", "bird"], [DOG, BIRD], MIX) == pytest.approx(
        (DOG_SDRI + BIRD_SDRI) / 2
    )
    # a false positive (cat) and a false negative (bird) each add a zero; silence is ignored
    got = ca_sdri(["dog", "cat", "silence"], [DOG_EST, BIRD_EST, 0 * MIX], ["dog", "bird"], [DOG, BIRD], MIX)
    assert got == pytest.approx(DOG_SDRI / 3)
    # a 4-channel mixture: the improvement is over its first channel
    foa = np.stack([MIX, 5 * MIX, -MIX, 0 * MIX])
    assert ca_sdri(["dog"], [DOG_EST], ["dog"], [DOG], foa) == pytest.approx(DOG_SDRI)
    with pytest.raises(ValueError, match="one estimate per class"):
        ca_sdri(["dog", "dog"], [DOG_EST, DOG_EST], ["dog"], [DOG], MIX)


def test_zero_target_mixture_with_and_without_a_false_alarm():
    for metric in (ca_sdri, capi_sdri):
        assert metric([], [], [], [], MIX) is None
        assert metric(["silence"], [MIX], [], [], MIX) is None
        assert metric(["dog"], [DOG_EST], [], [], MIX) == 0.0
        assert metric([], [], ["dog"], [DOG], MIX) == 0.0  # a missed target
    assert mean_score([None, 2.0, 0.0, None]) == 1.0
    assert math.isnan(mean_score([None]))


def test_capi_duplicates_take_the_better_of_both_pairings():
    dog2 = sig(0, 0, 0, 0, 0, 0, 1.5)  # a second dog, energy 2.25
    mix = MIX + dog2  # mixture minus dog: 1 + 1 + 2.25; minus dog2: 4 + 1 + 1
    est1, est2 = dog2 + sig(0, 0, 0, 0.3), DOG + sig(0, 0, 0, 0, 0.1)  # listed in the other order
    sdri_2 = db(2.25, 0.09) - db(2.25, 6)
    sdri_1 = db(4, 0.01) - db(4, 4.25)
    got = capi_sdri(["dog", "dog"], [est1, est2], ["dog", "dog"], [DOG, dog2], mix)
    assert got == pytest.approx((sdri_1 + sdri_2) / 2)
    # the same with a bird hit beside them: one mean over all three values
    got = capi_sdri(["dog", "bird", "dog"], [est1, BIRD_EST, est2], ["bird", "dog", "dog"], [BIRD, DOG, dog2], mix)
    bird_sdri = db(1, 0.25) - db(1, 4 + 1 + 2.25)
    assert got == pytest.approx((sdri_1 + sdri_2 + bird_sdri) / 3)


def test_capi_pairs_by_sdr_not_sdri_and_zeroes_the_unpaired():
    """One estimate, two references of its class: the estimate is nearer r1 in SDR (13.98 against 6.34 dB),
    but its SDRi would be larger against r2, whose mixture SDR is low. DCASE keeps the best SDR pairing."""
    r1, r2 = sig(1), sig(1, 0.5)
    est = sig(1, 0, 0.2)
    mix = sig(1, 0, 0, 0.1)
    sdri_r1 = db(1, 0.04) - db(1, 0.01)
    sdri_r2 = db(1.25, 0.29) - db(1.25, 0.26)
    assert sdri_r2 > sdri_r1
    assert capi_sdri(["dog"], [est], ["dog", "dog"], [r1, r2], mix) == pytest.approx(sdri_r1 / 2)
    assert capi_sdri(["dog"], [est], ["dog", "dog"], [r2, r1], mix) == pytest.approx(sdri_r1 / 2)
    # more estimates than references: the better estimate is paired, the other scores 0
    assert capi_sdri(["dog", "dog"], [sig(0, 1), est], ["dog"], [r1], mix) == pytest.approx(sdri_r1 / 2)


def test_labels_match_compares_multisets():
    assert labels_match(["dog", "bird"], ["bird", "dog"])
    assert labels_match(["dog", "silence"], ["dog"])
    assert labels_match([], [])
    assert not labels_match(["dog"], ["dog", "dog"])
    assert not labels_match(["dog", "cat"], ["dog", "bird"])


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="2 labels but 1 waveforms"):
        capi_sdri(["dog", "cat"], [DOG_EST], ["dog"], [DOG], MIX)
    with pytest.raises(ValueError, match="mono waveform of 256"):
        capi_sdri(["dog"], [DOG_EST[:100]], ["dog"], [DOG], MIX)
    with pytest.raises(ValueError, match="NaN"):
        capi_sdri(["dog"], [DOG_EST * np.nan], ["dog"], [DOG], MIX)


def _snr(est: np.ndarray, ref: np.ndarray) -> float:
    return 10 * np.log10(np.sum(ref**2) / np.sum((ref - est) ** 2))


def _capi_by_assignment(est_labels, ests, ref_labels, refs, mix) -> float | None:
    """The same rule written differently: a Hungarian assignment maximising the summed SDR per class."""
    values = []
    for c in set(est_labels) | set(ref_labels):
        e = [w for x, w in zip(est_labels, ests, strict=True) if x == c]
        r = [w for x, w in zip(ref_labels, refs, strict=True) if x == c]
        if e and r:
            table = np.array([[_snr(a, b) for b in r] for a in e])
            rows, cols = linear_sum_assignment(table, maximize=True)
            values += [table[i, j] - _snr(mix, r[j]) for i, j in zip(rows, cols, strict=True)]
        values += [0.0] * abs(len(e) - len(r))
    return float(np.mean(values)) if values else None


def _ca_by_sets(est_labels, ests, ref_labels, refs, mix) -> float | None:
    e, r = dict(zip(est_labels, ests, strict=True)), dict(zip(ref_labels, refs, strict=True))
    if not e and not r:
        return None
    hits = [_snr(e[c], r[c]) - _snr(mix, r[c]) for c in e.keys() & r.keys()]
    return sum(hits) / len(e.keys() | r.keys())


def test_agreement_with_an_independent_implementation_on_random_inputs():
    rng = np.random.default_rng(1)
    classes = ["dog", "cat", "bird"]
    checked = 0
    for _ in range(200):
        n_ref, n_est = rng.integers(0, 4, size=2)
        ref_labels = list(rng.choice(classes, n_ref))
        est_labels = list(rng.choice(classes, n_est))
        refs = [rng.standard_normal(L) for _ in ref_labels]
        mix = sum(refs, rng.standard_normal(L))
        ests = [mix * rng.uniform(0.2, 0.8) + rng.standard_normal(L) * 0.3 for _ in est_labels]
        want = _capi_by_assignment(est_labels, ests, ref_labels, refs, mix)
        got = capi_sdri(est_labels, ests, ref_labels, refs, mix)
        assert (got is None) == (want is None)
        if want is not None:
            assert got == pytest.approx(want, abs=1e-9)
            checked += 1
        if len(set(est_labels)) == len(est_labels) and len(set(ref_labels)) == len(ref_labels):
            want = _ca_by_sets(est_labels, ests, ref_labels, refs, mix)
            got = ca_sdri(est_labels, ests, ref_labels, refs, mix)
            assert (got is None) == (want is None) and (want is None or got == pytest.approx(want, abs=1e-9))
    assert checked > 150
