"""Simulated FOA RIRs: direct-path encoding and direction, RT60, diffuse tail, room banks, bad input."""

import json

import numpy as np
import pytest

import foabench.synth.rooms.bank as room_bank
from foabench.benchmark.cli import main as cli
from foabench.synth.banks.format import Bank
from foabench.synth.foa import angular_distance, encode_direction, intensity_direction, unit_vector
from foabench.synth.rooms.acoustics import analyse_rir, direct_sample, drr_db, energy_decay_db, rt60_from_decay
from foabench.synth.rooms.bank import build_room_bank
from foabench.synth.rooms.sampler import RoomSpec, plan_rirs
from foabench.synth.rooms.simulate import RoomError, RoomParams, simulate_rir, solve_absorption

FS = 32000
BIG_ROOM = [10.0, 10.0, 10.0]
CENTRE = [5.0, 5.0, 5.0]


def _directions() -> list[tuple[float, float]]:
    rng = np.random.default_rng(11)
    dirs = [
        (float(a), float(np.degrees(np.arcsin(u))))
        for a, u in zip(rng.uniform(-180, 180, 24), rng.uniform(-1, 1, 24), strict=True)
    ]
    dirs += [(180.0, 0.0), (179.8, 10.0), (-179.8, -10.0), (37.0, 89.7), (-123.0, -89.7), (0.0, 90.0), (0.0, -90.0)]
    return dirs


def _params_towards(az: float, el: float, distance: float = 2.0, rt60: float = 0.4) -> RoomParams:
    src = np.asarray(CENTRE) + distance * unit_vector(az, el)
    return RoomParams(BIG_ROOM, rt60, "hf-absorbing", list(src), list(CENTRE), max_length_s=0.3)


@pytest.mark.parametrize(("az", "el"), _directions())
def test_direct_path_is_the_plane_wave_and_points_at_the_source(az, el):
    sim = simulate_rir(_params_towards(az, el), seed=3)
    d = direct_sample(sim.foa[:, 0])
    assert d == pytest.approx(2.0 / 343.0 * FS, abs=1)
    peak = sim.foa[d].astype(np.float64)
    ratios = peak / peak[0]
    expected = encode_direction(az, el)
    assert np.max(np.abs(ratios - expected)) < 0.01  # channel ratios within 1 %
    est = intensity_direction(sim.foa[d - 16 : d + 17])  # direct part: +/- 0.5 ms
    assert angular_distance(*est, az, el) < 2.0
    direct_energy = np.sum(sim.foa[d - 16 : d + 17, 0].astype(np.float64) ** 2)
    assert direct_energy == pytest.approx(0.25, rel=0.1)  # "1 at 1 m": amplitude 1/2 at 2 m


def test_direction_in_sampled_everyday_rooms():
    errors = []
    for item in plan_rirs(RoomSpec(rooms=6, rirs_per_room=3, seed=5, max_length_s=0.3)):
        sim = simulate_rir(item.params, item.seed)
        d = direct_sample(sim.foa[:, 0])
        errors.append(angular_distance(*intensity_direction(sim.foa[d - 16 : d + 17]), sim.azimuth, sim.elevation))
    assert max(errors) < 2.0


def test_absorption_solver_hits_requested_eyring_rt60():
    for profile in ("flat", "hf-absorbing", "lf-absorbing"):
        p = RoomParams([6.0, 4.0, 3.0], 0.7, profile, [1, 1, 1], [3, 2, 1.5])
        centres, alpha, _, t60 = solve_absorption(p)
        mid = [list(centres).index(500.0), list(centres).index(1000.0)]
        assert np.mean(t60[mid]) == pytest.approx(0.7, rel=1e-3)
        assert np.all((alpha > 0) & (alpha < 1))


def test_measured_rt60_within_20_percent_over_a_range_of_rooms():
    items = plan_rirs(RoomSpec(rooms=10, rirs_per_room=1, seed=21))
    corners = [
        RoomParams([10.0, 8.0, 2.5], 0.2, "flat", [6.2, 4.9, 1.3], [5, 4, 1.5]),  # large, flat, dead
        RoomParams([3.0, 3.0, 2.5], 1.0, "lf-absorbing", [2.2, 2.1, 1.3], [1, 1, 1.5]),  # small, live
        RoomParams([10.0, 3.0, 4.0], 0.6, "hf-absorbing", [7.5, 1.6, 2.0], [5, 1.5, 1.5]),  # corridor
    ]
    cases = [(i.params, i.seed) for i in items] + [(p, 1) for p in corners]
    for params, seed in cases:
        measured = analyse_rir(simulate_rir(params, seed).foa, FS)["rt60_measured"]
        assert measured == pytest.approx(params.rt60, rel=0.2), params


def test_late_tail_is_diffuse():
    ratios, corr = [], []
    for seed in range(4):
        p = RoomParams([8.0, 6.0, 3.5], 0.9, "flat", [2.0, 2.0, 1.4], [4.5, 3.5, 1.6])
        sim = simulate_rir(p, seed)
        tail = sim.foa[int((sim.transition_s + 0.02) * FS) :].astype(np.float64)
        energy = np.mean(tail**2, axis=0)
        ratios.append(energy[1:] / energy[0])
        corr.append(np.corrcoef(tail.T)[np.triu_indices(4, 1)])
    assert np.mean(ratios, axis=0) == pytest.approx([1 / 3] * 3, rel=0.08)
    assert np.max(np.abs(np.mean(corr, axis=0))) < 0.05


def test_tail_continues_the_image_sources():
    """The octave-band energy right after the hand-over continues the energy right before it."""
    from foabench.synth.rooms.acoustics import octave_band

    p = RoomParams([7.0, 5.0, 3.0], 0.8, "flat", [2.0, 1.5, 1.2], [4.2, 3.1, 1.6])
    sim = simulate_rir(p, 0)
    tx, w, g = int(sim.transition_s * FS), int(0.01 * FS), int(0.006 * FS)
    for fc in (500, 1000, 2000):
        band = octave_band(sim.foa[:, 0], FS, fc)
        before = np.mean(band[tx - g - w : tx - g] ** 2)
        after = np.mean(band[tx + g : tx + g + w] ** 2)
        assert abs(10 * np.log10(after / before)) < 6.0


def test_simulation_is_deterministic_per_seed():
    p = _params_towards(40.0, 10.0)
    a, b, c = simulate_rir(p, 1).foa, simulate_rir(p, 1).foa, simulate_rir(p, 2).foa
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_room_acoustics_on_closed_forms():
    rng = np.random.default_rng(0)
    t = np.arange(int(1.5 * FS)) / FS
    h = rng.standard_normal(len(t)) * np.exp(-6.91 * t / 0.8)
    assert rt60_from_decay(energy_decay_db(h), FS) == pytest.approx(0.8, rel=0.05)
    w = np.zeros(1000)
    w[100], w[300:] = 1.0, 0.01
    assert direct_sample(w) == 100
    assert drr_db(w, FS) == pytest.approx(10 * np.log10(1.0 / (700 * 1e-4)), rel=1e-6)
    with pytest.raises(ValueError, match="all zeros"):
        direct_sample(np.zeros(100))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"source_position": [11.0, 5.0, 5.0]}, "source_position .* outside the room"),
        ({"mic_position": [5.0, -1.0, 5.0]}, "mic_position .* outside the room"),
        ({"room_dim": [10.0, float("nan"), 10.0]}, "room_dim"),
        ({"source_position": [5.1, 5.0, 5.0]}, "from the microphone"),
        ({"rt60": 0.0}, "rt60"),
        ({"profile": "velvet"}, "unknown absorption profile"),
        ({"sample_rate": 1000}, "sample_rate"),
    ],
)
def test_bad_room_parameters_are_named(change, message):
    p = _params_towards(0.0, 0.0)
    for k, v in change.items():
        setattr(p, k, v)
    with pytest.raises(RoomError, match=message):
        simulate_rir(p, 0)


def test_unreachable_rt60_is_named():
    with pytest.raises(RoomError, match=r"rt60 0\.05 s is not reachable"):
        solve_absorption(RoomParams([10.0, 10.0, 10.0], 0.05, "flat", [1, 1, 1], [2, 2, 1.5]))


def test_spec_validation():
    with pytest.raises(RoomError, match="unknown room spec keys"):
        RoomSpec.from_dict({"rooms": 2, "colour": "blue"})
    with pytest.raises(RoomError, match="rt60 range"):
        RoomSpec.from_dict({"rt60": [1.0, 0.5]})
    with pytest.raises(RoomError, match="no two points"):
        plan_rirs(RoomSpec(rooms=1, length=(3, 3), width=(3, 3), height=(2.5, 2.5), distance=(5, 6)))
    with pytest.raises(RoomError, match="cannot place"):  # possible only from rare corners: give up, say why
        plan_rirs(RoomSpec(rooms=1, length=(3, 3), width=(3, 3), height=(2.5, 2.5), distance=(3.0, 3.05)))


def test_plan_is_stable_when_more_rooms_are_requested():
    small = plan_rirs(RoomSpec(rooms=2, seed=9))
    large = plan_rirs(RoomSpec(rooms=5, seed=9))
    assert [(i.rel_path, i.params, i.seed) for i in small] == [
        (i.rel_path, i.params, i.seed) for i in large[: len(small)]
    ]


def test_room_bank_records_resume_and_determinism(tmp_path, monkeypatch):
    spec = RoomSpec(rooms=2, rirs_per_room=2, seed=4, max_length_s=0.4)
    build_room_bank(tmp_path / "a", spec, workers=2, progress=False)
    bank = Bank.open(tmp_path / "a", kind="rirs")
    assert len(bank.records) == 4 and bank.verify() == []
    rec = bank.records[0]
    assert rec.simulated and rec.source_convention == "ambix" and rec.channels == 4
    assert rec.rt60_spec is not None and rec.rt60_measured is not None and rec.seed is not None
    assert rec.absorption["profile"] in ("flat", "hf-absorbing", "lf-absorbing") and len(rec.room_dim) == 3
    src = np.subtract(rec.source_position, rec.mic_position)
    assert angular_distance(rec.azimuth, rec.elevation, *unit_vector_to_angles(src)) < 1e-3
    assert bank.header["spec"]["seed"] == 4

    # interrupted build: the third RIR fails; the rerun simulates only what is missing
    calls = []
    real = room_bank._simulate

    def flaky(item):
        calls.append(item.rel_path)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(item)

    monkeypatch.setattr(room_bank, "_simulate", flaky)
    with pytest.raises(KeyboardInterrupt):
        build_room_bank(tmp_path / "b", spec, workers=1, progress=False)
    assert not (tmp_path / "b" / "bank.json").exists()
    calls.clear()
    monkeypatch.setattr(room_bank, "_simulate", lambda item: (calls.append(item.rel_path), real(item))[1])
    build_room_bank(tmp_path / "b", spec, workers=1, progress=False)
    assert len(calls) == 2
    assert Bank.open(tmp_path / "b").fingerprint == bank.fingerprint


def unit_vector_to_angles(v):
    from foabench.synth.foa import direction_of

    az, el, _ = direction_of(np.asarray(v, dtype=float))
    return float(az), float(el)


def test_rooms_cli(tmp_path, capsys):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"rooms": 1, "rirs_per_room": 2, "max_length_s": 0.3}))
    assert (
        cli(["bank", "rooms", "--out", str(tmp_path / "r"), "--spec", str(spec), "--seed", "3", "--no-progress"]) == 0
    )
    assert "2 RIRs in 1 rooms" in capsys.readouterr().out
    assert cli(["bank", "rooms", "--out", str(tmp_path / "bad"), "--rt60", "1.0", "0.5", "--no-progress"]) == 2
    assert "rt60 range" in capsys.readouterr().err
