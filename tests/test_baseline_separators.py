"""Baselines as separators: the wrappers' contract, oracle beams on anechoic scenes, and query steering."""

import itertools

import numpy as np
import pytest
import scipy.signal
import torch

from foabench.baselines.query_direction import QuerySteering
from foabench.benchmark.baseline_separators import BASELINES, make_baseline
from foabench.benchmark.metrics import si_sdr
from foabench.benchmark.separator import QueryBatch, SeparatorContext, check_separator, is_oracle
from foabench.synth.foa import angular_distance, encode_direction

SR = 16000


def _band_noise(rng, lo: float, hi: float, seconds: float = 2.0) -> np.ndarray:
    sos = scipy.signal.butter(6, [lo, hi], btype="bandpass", fs=SR, output="sos")
    x = scipy.signal.sosfilt(sos, rng.standard_normal(int(seconds * SR)))
    return x / np.sqrt(np.mean(x**2)) * 0.05


def _scene(seed: int = 0):
    """Anechoic: a low-band target at (40, 10) deg and a high-band interferer at (-100, -5) deg."""
    rng = np.random.default_rng(seed)
    target, interferer = _band_noise(rng, 150, 900), _band_noise(rng, 2500, 6000)
    t_dir, i_dir = (40.0, 10.0), (-100.0, -5.0)
    foa = encode_direction(*t_dir)[:, None] * target + encode_direction(*i_dir)[:, None] * interferer
    return foa.astype(np.float32), target.astype(np.float32), interferer.astype(np.float32), t_dir, i_dir


class BandEncoder:
    """A toy query encoder that can tell low from high sounds: unit-norm log band energies."""

    name, dim, hash = "band-encoder", 8, "0" * 64

    def embed_audio(self, waves, sample_rate):
        edges = np.geomspace(100, 7000, self.dim + 1)
        rows = []
        for w in waves:
            f, p = scipy.signal.welch(np.asarray(w, np.float64), fs=sample_rate, nperseg=512)
            e = np.array([p[(f >= a) & (f < b)].sum() for a, b in itertools.pairwise(edges)])
            v = np.log10(e + 1e-12) + 12
            rows.append(v / np.linalg.norm(v))
        return np.asarray(rows, np.float32)


def test_every_baseline_meets_the_interface():
    for spec in BASELINES:
        sep = check_separator(make_baseline(spec), spec)
        assert is_oracle(sep) == (spec.startswith("oracle") or spec.endswith(":oracle")), spec
    with pytest.raises(ValueError, match="unknown baseline"):
        make_baseline("cardioid:sideways")


@pytest.mark.parametrize("spec", ["cardioid:oracle", "hypercardioid:oracle", "max-re:oracle", "mpdr:oracle",
                                  "oracle-irm", "oracle-mwf"])  # fmt: skip
def test_oracle_baselines_beat_the_mixture_on_an_anechoic_scene(spec):
    foa, target, _, t_dir, _ = _scene()
    sep = make_baseline(spec)
    q = QueryBatch(kind="audio", sample_rate=SR, direction=np.array([t_dir]), target=torch.from_numpy(target[None]))
    est = sep.separate(torch.from_numpy(foa[None]), q)
    assert est.shape == (1, foa.shape[1]) and torch.isfinite(est).all()
    gain = si_sdr(est[0].numpy(), target) - si_sdr(foa[0], target)
    assert gain > 3.0, (spec, gain)


def test_query_steering_picks_the_source_the_query_describes():
    foa, target, interferer, t_dir, i_dir = _scene(1)
    encoder = BandEncoder()
    steer = QuerySteering(encoder)
    for source, direction in ((target, t_dir), (interferer, i_dir)):
        query = encoder.embed_audio([source], SR)[0]
        choice = steer.choose(foa.astype(np.float64), SR, query)
        assert angular_distance(choice.azimuth, choice.elevation, *direction) < 5.0
        assert len(choice.candidates) >= 2
    sep = make_baseline("max-re:query")
    sep.setup(SeparatorContext(SR, encoder=encoder))
    q = QueryBatch(kind="audio", sample_rate=SR, embedding=torch.from_numpy(encoder.embed_audio([interferer], SR)))
    est = sep.separate(torch.from_numpy(foa[None]), q)
    assert si_sdr(est[0].numpy(), interferer) - si_sdr(foa[0], interferer) > 6.0
    with pytest.raises(ValueError, match="needs the query encoder"):
        QuerySteering(None)


def test_silent_mixture_gives_silence():
    silent = torch.zeros(1, 4, 8000)
    q = QueryBatch(kind="text", sample_rate=SR, direction=np.array([[0.0, 0.0]]), target=torch.zeros(1, 8000))
    for spec in ("max-re:oracle", "mpdr:oracle", "oracle-irm", "oracle-mwf", "mixture"):
        assert not make_baseline(spec).separate(silent, q).any(), spec
    assert QuerySteering(BandEncoder()).choose(np.zeros((4, 8000)), SR, np.ones(8) / np.sqrt(8)).candidates == []
