"""Measured first-order RIR importers (folder + CSV, SOFA, TAU-SRIR DB MAT files) on real files in every
FOA convention: the stored RIR must be the AmbiX closed form, with the right direction and provenance."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import soundfile as sf

from foabench.benchmark.cli import main
from foabench.synth.banks.format import HEADER_NAME, INDEX_NAME, Bank, RirRecord
from foabench.synth.foa import CONVENTIONS, ConventionError, direction_of, encode_direction, unit_vector
from foabench.synth.rooms.importers.folder import import_rir_folder
from foabench.synth.rooms.importers.matfile import read_cell
from foabench.synth.rooms.importers.sofa import import_dcase2025_rooms, import_sofa
from foabench.synth.rooms.importers.tau_srir import import_tau_srir
from tests.rir_fixtures import (
    SOFA_DECLARATIONS,
    SR,
    Mat73Writer,
    ambix_rir,
    global_positions,
    random_directions,
    rir_in,
    save_v5_rirdata,
    tau_cells,
    write_sofa_generalfir_spherical,
    write_sofa_sofar,
    write_sofa_spatialscaper,
    write_wav,
)

ANGLE_TOL = 0.01


def _az_diff(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def _azel(v: np.ndarray) -> tuple[float, float]:
    az, el, _ = direction_of(v)
    return float(az), float(el)


def check_record(bank: Bank, rec: RirRecord, az: float, el: float, delay: int, truth: np.ndarray | None = None) -> None:
    """The stored file is AmbiX of a plane wave from (az, el): direct-path channel ratios, direction, figures."""
    wave, sr = sf.read(str(bank.resolve(rec.path)), dtype="float64", always_2d=True)
    assert sr == rec.sample_rate == bank.sample_rate
    assert sf.info(str(bank.resolve(rec.path))).subtype == "FLOAT"
    assert wave.shape == (rec.num_frames, 4) and rec.channels == 4
    assert rec.direct_sample == delay
    np.testing.assert_allclose(wave[delay] / wave[delay, 0], encode_direction(az, el), atol=1e-4)
    if truth is not None:
        np.testing.assert_allclose(wave, truth, atol=1e-5)
        # DRR: the direct window (+/- 2.5 ms) holds only the impulse; everything after it is reverberation
        reverb = np.sum(truth[delay + round(0.0025 * sr) + 1 :, 0] ** 2)
        assert rec.drr_db == pytest.approx(10 * np.log10(truth[delay, 0] ** 2 / reverb), abs=0.01)
    assert _az_diff(rec.azimuth, az) < ANGLE_TOL and abs(rec.elevation - el) < ANGLE_TOL
    assert rec.simulated is False and np.isfinite(rec.drr_db)
    assert rec.extra["direct_doa_error_deg"] < 0.05
    assert set(rec.rt60_bands) <= {"125", "250", "500", "1000", "2000", "4000", "8000"}


def open_bank(out: Path) -> Bank:
    bank = Bank.open(out, kind="rirs")
    assert bank.verify() == []
    return bank


# --- folder of WAV/FLAC + CSV ---------------------------------------------------------------------------

# file -> (convention written, convention column, azimuth, elevation, distance, delay)
FOLDER_RIRS = {
    "roomA/rir_ambix.wav": ("ambix", "ambix", 30.0, 10.0, "2.5", 100),
    "roomA/rir_fuma.wav": ("fuma", "FuMa", -120.0, -35.0, "", 110),
    "roomB/rir_n3d.flac": ("n3d", "acn-n3d", 180.0, 60.0, "1.2", 120),
    "roomB/sub/rir_ortho.wav": ("orthonormal", "", 75.0, 0.0, "", 130),  # takes --convention
}


@pytest.fixture
def rir_folder(tmp_path: Path) -> tuple[Path, Path]:
    src = tmp_path / "measured"
    lines = ["path,azimuth,elevation,distance,convention,room"]
    for i, (rel, (conv, column, az, el, dist, delay)) in enumerate(FOLDER_RIRS.items()):
        subtype = "PCM_24" if rel.endswith(".flac") else "FLOAT"
        write_wav(src / rel, rir_in(conv, az, el, delay, seed=i), subtype=subtype)
        room = "roomB" if "sub/" in rel else ""
        lines.append(f"{rel},{az},{el},{dist},{column},{room}")
    write_wav(src / "unlisted.wav", rir_in("ambix", 0, 0, 100))
    write_wav(src / "stereo.wav", rir_in("ambix", 0, 0, 100)[:, :2])
    write_wav(src / "three.wav", rir_in("ambix", 0, 0, 100)[:, :3])
    nan = rir_in("ambix", 0, 0, 100)
    nan[500, 2] = np.nan
    write_wav(src / "nan.wav", nan)
    write_wav(src / "zero.wav", np.zeros((2000, 4)))
    lines += [f"{name},0,0,,ambix," for name in ("stereo.wav", "three.wav", "nan.wav", "zero.wav", "ghost.wav")]
    lines += ["../escape.wav,0,0,,ambix,", "/etc/rir.wav,0,0,,ambix,"]
    csv = tmp_path / "positions.csv"
    csv.write_text("\n".join(lines) + "\n")
    return src, csv


def test_folder_import_every_convention(rir_folder: tuple[Path, Path], tmp_path: Path) -> None:
    src, csv = rir_folder
    out = tmp_path / "bank"
    result = import_rir_folder(src, csv, out, convention="orthonormal", progress=False, default_license="CC0-1.0")
    bank = open_bank(out)
    recs = {r.extra["file"]: r for r in bank.records}
    assert sorted(recs) == sorted(FOLDER_RIRS)
    for i, (rel, (conv, _, az, el, dist, delay)) in enumerate(FOLDER_RIRS.items()):
        rec = recs[rel]
        check_record(bank, rec, az, el, delay, truth=ambix_rir(az, el, delay, seed=i))
        assert rec.source_convention == conv
        assert rec.distance == (float(dist) if dist else None)
        assert rec.origin == str(src / rel) and rec.license == "CC0-1.0"
        assert rec.original_sample_rate == SR
    assert {r.path: r.room for r in bank.records} == {
        "roomA/rir_ambix.wav": "roomA",
        "roomA/rir_fuma.wav": "roomA",
        "roomB/rir_n3d.wav": "roomB",
        "roomB/sub/rir_ortho.wav": "roomB",
    }
    reasons = {Path(s["origin"]).name: s["reason"] for s in result.skipped}
    assert reasons == {
        "unlisted.wav": "missing_position",
        "stereo.wav": "channels",
        "three.wav": "channels",
        "nan.wav": "bad_file",
        "zero.wav": "bad_audio",
        "ghost.wav": "missing_file",
        "positions.csv:11": "unsafe_path",
        "positions.csv:12": "unsafe_path",
    }
    details = {Path(s["origin"]).name: s["detail"] for s in result.skipped}
    assert "all samples are zero" in details["zero.wav"] and "NaN" in details["nan.wav"]
    assert "../escape.wav" in details["positions.csv:11"]
    assert bank.header["source_conventions"] == {"ambix": 1, "fuma": 1, "n3d": 1, "orthonormal": 1}


def test_folder_cartesian_positions_and_room_column(tmp_path: Path) -> None:
    src = tmp_path / "src"
    pos = np.array([[1.0, 1.0, 0.5], [-2.0, 0.5, -1.0]])
    rows = ["path,x,y,z,room"]
    for i, p in enumerate(pos):
        write_wav(src / f"r{i}.wav", rir_in("fuma", *_azel(p), 100 + i, seed=i))
        rows.append(f"r{i}.wav,{p[0]},{p[1]},{p[2]},Lab 1")
    (tmp_path / "pos.csv").write_text("\n".join(rows) + "\n")
    import_rir_folder(src, tmp_path / "pos.csv", tmp_path / "bank", convention="fuma", progress=False)
    bank = open_bank(tmp_path / "bank")
    for i, rec in enumerate(sorted(bank.records, key=lambda r: r.path)):
        assert (rec.path, rec.room) == (f"Lab_1/r{i}.wav", "Lab 1")
        assert rec.distance == pytest.approx(np.linalg.norm(pos[i]), abs=1e-6)
        check_record(bank, rec, *_azel(pos[i]), 100 + i)


def test_wrongly_declared_convention_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """FuMa files declared as AmbiX import (nothing in a WAV says otherwise), but the direction check warns."""
    rows = ["path,azimuth,elevation"]
    for i, (az, el) in enumerate([(90.0, 0.0), (-45.0, 30.0), (10.0, -20.0)]):
        write_wav(tmp_path / f"src/r{i}.wav", rir_in("fuma", az, el, 100, seed=i))
        rows.append(f"r{i}.wav,{az},{el}")
    (tmp_path / "p.csv").write_text("\n".join(rows) + "\n")
    import_rir_folder(tmp_path / "src", tmp_path / "p.csv", tmp_path / "bank", convention="ambix", progress=False)
    assert "differ from the RIRs' direct-path intensity directions" in capsys.readouterr().err
    assert open_bank(tmp_path / "bank").header["median_direct_doa_error_deg"] > 20


def test_folder_undeclared_convention_is_an_error(rir_folder: tuple[Path, Path], tmp_path: Path) -> None:
    src, csv = rir_folder
    with pytest.raises(ConventionError, match=r"rir_ortho\.wav.*not declared"):
        import_rir_folder(src, csv, tmp_path / "bank", progress=False)
    assert not (tmp_path / "bank").exists()


@pytest.mark.parametrize(
    ("row", "message"),
    [("270,0", "azimuth 270 deg is outside"), ("10,95", "elevation 95 deg is outside"), ("x,0", "not a number")],
)
def test_folder_direction_out_of_range(tmp_path: Path, row: str, message: str) -> None:
    write_wav(tmp_path / "src/a.wav", rir_in("ambix", 0, 0, 100))
    (tmp_path / "p.csv").write_text(f"path,azimuth,elevation\na.wav,{row}\n")
    with pytest.raises(ValueError, match=message):
        import_rir_folder(tmp_path / "src", tmp_path / "p.csv", tmp_path / "bank", convention="ambix", progress=False)


def test_folder_csv_errors(tmp_path: Path) -> None:
    write_wav(tmp_path / "src/a.wav", rir_in("ambix", 0, 0, 100))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        import_rir_folder(tmp_path / "src", tmp_path / "none.csv", tmp_path / "bank", convention="ambix")
    both = tmp_path / "both.csv"
    both.write_text("path,azimuth,elevation,x,y,z\na.wav,0,0,1,0,0\n")
    with pytest.raises(ValueError, match="not both"):
        import_rir_folder(tmp_path / "src", both, tmp_path / "bank", convention="ambix")
    only_missing = tmp_path / "ghost.csv"
    only_missing.write_text("path,azimuth,elevation\nghost.wav,0,0\n")
    with pytest.raises(ValueError, match=r"no RIR to import.*ghost\.wav.*not found"):
        import_rir_folder(tmp_path / "src", only_missing, tmp_path / "bank", convention="ambix", progress=False)


def test_sample_rate_mismatch_and_resample(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_wav(src / "hi.wav", rir_in("n3d", 40.0, -20.0, 150, sr=48000, frames=3000), sr=48000)
    (tmp_path / "p.csv").write_text("path,azimuth,elevation\nhi.wav,40,-20\n")
    with pytest.raises(ValueError, match=r"hi\.wav: sample rate 48000 Hz differs from the bank's 32000 Hz"):
        import_rir_folder(src, tmp_path / "p.csv", tmp_path / "bank", convention="n3d", progress=False)
    assert not (tmp_path / "bank").exists()
    import_rir_folder(src, tmp_path / "p.csv", tmp_path / "bank", convention="n3d", resample=True, progress=False)
    rec = open_bank(tmp_path / "bank").records[0]
    assert (rec.sample_rate, rec.original_sample_rate, rec.num_frames) == (32000, 48000, 2000)
    wave, _ = sf.read(str(tmp_path / "bank" / rec.path), always_2d=True)
    assert rec.direct_sample == 100
    np.testing.assert_allclose(wave[100] / wave[100, 0], encode_direction(40.0, -20.0), atol=1e-3)


# --- SOFA -----------------------------------------------------------------------------------------------

LOCAL = np.array([[2.0, 1.0, 0.3], [-1.0, -2.0, 1.0], [-1.5, 0.0, -0.5]])  # source minus listener, listener frame
LISTENER = np.array([2.0, 1.5, 1.2])


def _irs(convention: str, vectors: np.ndarray, seed: int) -> np.ndarray:
    """(M, 4, N) in ``convention`` for source vectors in the listener frame (delay 100 + 7 m)."""
    return np.stack([rir_in(convention, *_azel(v), 100 + 7 * m, seed=seed + m).T for m, v in enumerate(vectors)])


def test_sofa_sofar_files_in_every_convention(tmp_path: Path) -> None:
    views = {"ambix": [1, 0, 0], "fuma": [0, 1, 0], "n3d": [-1, 1, 0], "orthonormal": [0, -1, 0]}
    for i, conv in enumerate(CONVENTIONS):
        view = np.array(views[conv], dtype=float)
        source = global_positions(LISTENER, view, LOCAL)
        write_sofa_sofar(
            tmp_path / f"sofa/{conv}_room.sofa",
            _irs(conv, LOCAL, 10 * i),
            source,
            LISTENER,
            view=view,
            declaration=SOFA_DECLARATIONS[conv],
        )
    result = import_sofa([tmp_path / "sofa"], tmp_path / "bank", progress=False)
    assert result.skipped == []
    bank = open_bank(tmp_path / "bank")
    assert len(bank.records) == 12 and bank.name == "sofa"
    for rec in bank.records:
        conv = rec.room.removesuffix("_room")
        m = rec.extra["measurement"]
        assert rec.path == f"{conv}_room/m{m:04d}.wav" and rec.source_convention == conv
        assert rec.distance == pytest.approx(np.linalg.norm(LOCAL[m]), abs=1e-6)
        assert rec.license == "No license provided, ask the author for permission"
        az, el = _azel(LOCAL[m])
        check_record(
            bank, rec, az, el, 100 + 7 * m, truth=ambix_rir(az, el, 100 + 7 * m, seed=10 * CONVENTIONS.index(conv) + m)
        )


def test_sofa_spatialscaper_layout_and_dcase2025_rooms(tmp_path: Path) -> None:
    root = tmp_path / "dev_set"
    mic = np.tile(LISTENER, (3, 1))
    for i, conv in enumerate(CONVENTIONS):
        split = "train" if i < 3 else "valid"
        write_sofa_spatialscaper(
            root / f"room_ir/{split}/{conv}.sofa", _irs(conv, LOCAL, i), LISTENER + LOCAL, mic, SOFA_DECLARATIONS[conv]
        )
    import_dcase2025_rooms(root, tmp_path / "bank", progress=False)
    bank = open_bank(tmp_path / "bank")
    assert bank.name == "dcase2025-task4-rooms"
    assert sorted({r.room for r in bank.records}) == ["train-ambix", "train-fuma", "train-n3d", "valid-orthonormal"]
    for rec in bank.records:
        assert rec.source_convention == rec.room.split("-", 1)[1]
        assert rec.attribution.startswith("DCASE 2025")
        m = rec.extra["measurement"]
        check_record(bank, rec, *_azel(LOCAL[m]), 100 + 7 * m)
    import_dcase2025_rooms(root, tmp_path / "valid-bank", split="valid", progress=False)
    assert {r.room for r in open_bank(tmp_path / "valid-bank").records} == {"valid-orthonormal"}


def test_sofa_sources_relative_to_listener(tmp_path: Path) -> None:
    """SpatialScaper's TAU-SRIR DB conversions store sources relative to the mic and the mic's room position."""
    mic = np.tile(LISTENER, (3, 1))
    path = write_sofa_spatialscaper(tmp_path / "tau_room.sofa", _irs("ambix", LOCAL, 0), LOCAL, mic)
    import_sofa([path], tmp_path / "bank", sources_relative=True, progress=False)
    bank = open_bank(tmp_path / "bank")
    for rec in bank.records:
        m = rec.extra["measurement"]
        assert rec.distance == pytest.approx(np.linalg.norm(LOCAL[m]))
        check_record(bank, rec, *_azel(LOCAL[m]), 100 + 7 * m)


def test_sofa_reimport_is_identical(tmp_path: Path) -> None:
    path = write_sofa_spatialscaper(tmp_path / "r.sofa", _irs("n3d", LOCAL, 0), LOCAL, np.zeros((3, 3)), ("acn", "n3d"))
    import_sofa([path], tmp_path / "a", progress=False)
    first = {f: (tmp_path / "a" / f).read_bytes() for f in (INDEX_NAME, HEADER_NAME)}
    import_sofa([path], tmp_path / "a", progress=False)
    assert {f: (tmp_path / "a" / f).read_bytes() for f in (INDEX_NAME, HEADER_NAME)} == first


def test_sofa_spherical_positions_and_declared_convention(tmp_path: Path) -> None:
    az_el_r = np.array([[30.0, 10.0, 2.0], [-150.0, -40.0, 1.5]])
    vectors = unit_vector(az_el_r[:, 0], az_el_r[:, 1]) * az_el_r[:, 2:]
    path = write_sofa_generalfir_spherical(tmp_path / "g.sofa", _irs("fuma", vectors, 0), az_el_r)
    with pytest.raises(ConventionError, match=r"g\.sofa declares no FOA convention"):
        import_sofa([path], tmp_path / "bank", progress=False)
    import_sofa([path], tmp_path / "bank", convention="fuma", progress=False)
    bank = open_bank(tmp_path / "bank")
    for rec in bank.records:
        m = rec.extra["measurement"]
        assert rec.source_convention == "fuma" and rec.distance == pytest.approx(az_el_r[m, 2])
        check_record(bank, rec, az_el_r[m, 0], az_el_r[m, 1], 100 + 7 * m)


def test_sofa_conflicting_convention(tmp_path: Path) -> None:
    path = write_sofa_spatialscaper(tmp_path / "r.sofa", _irs("n3d", LOCAL, 0), LOCAL, np.zeros((3, 3)), ("acn", "n3d"))
    with pytest.raises(ConventionError, match=r"r\.sofa: the file declares FOA convention 'n3d', but 'fuma'"):
        import_sofa([path], tmp_path / "bank", convention="fuma", progress=False)
    import_sofa([path], tmp_path / "bank", convention="n3d", progress=False)  # agreeing is fine


def test_sofa_bad_files_and_measurements(tmp_path: Path) -> None:
    zeros = np.zeros((3, 3))
    write_sofa_spatialscaper(tmp_path / "in/two.sofa", _irs("ambix", LOCAL, 0)[:, :2], LOCAL, zeros)
    write_sofa_spatialscaper(tmp_path / "in/three.sofa", _irs("ambix", LOCAL, 0)[:, :3], LOCAL, zeros)
    with pytest.raises(ValueError, match=r"no RIR to import.*two\.sofa: Data\.IR has 2 receivers"):
        import_sofa([tmp_path / "in/two.sofa"], tmp_path / "b0", progress=False)
    irs = _irs("ambix", LOCAL, 0)
    irs[1, 2, 300] = np.nan
    irs[2] = 0.0
    write_sofa_spatialscaper(tmp_path / "in/good.sofa", irs, LOCAL, zeros)
    (tmp_path / "in/garbage.sofa").write_bytes(b"not a netCDF file" * 10)
    result = import_sofa([tmp_path / "in"], tmp_path / "bank", progress=False)
    assert [r.path for r in result.records] == ["good/m0000.wav"]
    reasons = {Path(s["origin"]).name: (s["reason"], s["detail"]) for s in result.skipped}
    assert reasons["two.sofa"][0] == reasons["three.sofa"][0] == "channels"
    assert "3 receivers" in reasons["three.sofa"][1]
    assert reasons["garbage.sofa"][0] == "bad_file" and "unreadable SOFA file" in reasons["garbage.sofa"][1]
    assert reasons["good.sofa[1]"] == ("bad_audio", f"{tmp_path / 'in/good.sofa'}[1]: 1 NaN/Inf samples")
    assert reasons["good.sofa[2]"][0] == "bad_audio" and "all samples are zero" in reasons["good.sofa[2]"][1]


# --- TAU-SRIR DB (MATLAB v7.3) --------------------------------------------------------------------------


def _tau_grid(seed: int, positions: bool = False) -> list[list[np.ndarray]]:
    """2 trajectories x 2 heights of direction arrays; one cell holds a single position."""
    sizes = [[3, 2], [1, 2]]
    return [
        [random_directions(n, seed + 10 * t + h, positions) for h, n in enumerate(row)] for t, row in enumerate(sizes)
    ]


def _write_tau(path: Path, conv: str, doas: list[list[np.ndarray]], seed: int, doa_at: str | None, fs: int | None):
    cells = tau_cells(conv, doas, seed, sr=fs or SR)
    with Mat73Writer(path) as w:
        rirs = w.struct(w.f, "rirs")
        w.cell(rirs, "foa", cells)
        w.cell(rirs, "mic", cells)  # the tetrahedral signals; never read
        if fs is not None:
            w.array(rirs, "fs", [[fs]])
        if doa_at == "rirs":
            w.cell(rirs, "doa_xyz", doas)
        elif doa_at == "top":
            w.cell(w.f, "doa_xyz", doas)


def _check_tau(bank: Bank, room: str, doas: list[list[np.ndarray]], positions: bool = False) -> None:
    recs = {r.path: r for r in bank.records if r.room == room}
    assert len(recs) == sum(len(v) for row in doas for v in row)
    for t, row in enumerate(doas):
        for h, vecs in enumerate(row):
            for p, v in enumerate(vecs):
                rec = recs[f"{room}/t{t}_h{h}_p{p:04d}.wav"]
                assert (rec.extra["trajectory"], rec.extra["height"], rec.extra["position"]) == (t, h, p)
                assert rec.distance == (pytest.approx(np.linalg.norm(v), abs=1e-6) if positions else None)
                check_record(bank, rec, *_azel(v), 100 + 3 * p)


def test_tau_srir_every_convention_and_direction_source(tmp_path: Path) -> None:
    src = tmp_path / "TAU-SRIR_DB"
    grids = {conv: _tau_grid(i, positions=conv == "fuma") for i, conv in enumerate(CONVENTIONS)}
    # ambix: unit directions in rirs/doa_xyz, fs in the file
    _write_tau(src / "rirs_01_bomb_shelter.mat", "ambix", grids["ambix"], 1, "rirs", SR)
    import_tau_srir([src / "rirs_01_bomb_shelter.mat"], tmp_path / "b-ambix", convention="ambix", progress=False)
    bank = open_bank(tmp_path / "b-ambix")
    assert bank.name == "bomb_shelter" and {r.source_convention for r in bank.records} == {"ambix"}
    _check_tau(bank, "bomb_shelter", grids["ambix"])
    # fuma: positions (so distances) in a top-level doa_xyz, no fs in the file
    _write_tau(src / "rirs_02_gym.mat", "fuma", grids["fuma"], 2, "top", None)
    import_tau_srir(
        [src / "rirs_02_gym.mat"], tmp_path / "b-fuma", convention="B-Format", sample_rate_in=SR, progress=False
    )
    bank = open_bank(tmp_path / "b-fuma")
    assert {r.source_convention for r in bank.records} == {"fuma"}
    _check_tau(bank, "gym", grids["fuma"], positions=True)
    # n3d: directions in a companion v7.3 file
    _write_tau(src / "rirs_03_pb132.mat", "n3d", grids["n3d"], 3, None, SR)
    with Mat73Writer(tmp_path / "doa73.mat") as w:
        w.cell(w.f, "doa_xyz", grids["n3d"])
    import_tau_srir(
        [src / "rirs_03_pb132.mat"], tmp_path / "b-n3d", convention="n3d", doa=tmp_path / "doa73.mat", progress=False
    )
    _check_tau(open_bank(tmp_path / "b-n3d"), "pb132", grids["n3d"])
    # orthonormal: a companion v5 file indexed by the room number, rirdata.room(#).doa_xyz
    _write_tau(src / "rirs_04_pc226.mat", "orthonormal", grids["orthonormal"], 4, None, SR)
    rirdata = save_v5_rirdata(tmp_path / "rirdata.mat", [grids[c] for c in CONVENTIONS])
    import_tau_srir(
        [src / "rirs_04_pc226.mat"],
        tmp_path / "b-ortho",
        convention="orthonormal",
        doa=rirdata,
        doa_var="rirdata.room(#).doa_xyz",
        progress=False,
    )
    _check_tau(open_bank(tmp_path / "b-ortho"), "pc226", grids["orthonormal"])


def test_tau_srir_24k_resample_and_errors(tmp_path: Path) -> None:
    doas = _tau_grid(7)
    path = tmp_path / "rirs_05_sa203.mat"
    _write_tau(path, "ambix", doas, 5, "rirs", None)  # written at 32 kHz but declares no fs
    with pytest.raises(ConventionError, match="do not declare one"):
        import_tau_srir([path], tmp_path / "b", convention=None, progress=False)
    with pytest.raises(ValueError, match=r"rirs_05_sa203\.mat\[t0,h0\]: sample rate 24000 Hz differs"):
        import_tau_srir([path], tmp_path / "b", convention="ambix", progress=False)
    result = import_tau_srir([path], tmp_path / "b", convention="ambix", resample=True, progress=False)
    rec = result.records[0]
    assert (rec.sample_rate, rec.original_sample_rate, rec.num_frames) == (32000, 24000, round(2000 * 32 / 24))
    with pytest.raises(ValueError, match="no directions"):
        bare = tmp_path / "rirs_06_bare.mat"
        _write_tau(bare, "ambix", doas, 6, None, SR)
        import_tau_srir([bare], tmp_path / "b2", convention="ambix", progress=False)
    with pytest.raises(ValueError, match=r"directions have shape \(2, 3\); expected \(3, 3\)"):
        wrong = tmp_path / "rirs_07_wrong.mat"
        _write_tau(wrong, "ambix", doas, 7, None, SR)
        bad = [[doas[0][1], doas[0][1]], doas[1]]
        with Mat73Writer(tmp_path / "bad_doa.mat") as w:
            w.cell(w.f, "doa_xyz", bad)
        import_tau_srir([wrong], tmp_path / "b3", convention="ambix", doa=tmp_path / "bad_doa.mat", progress=False)


def test_mat73_struct_array_indexing(tmp_path: Path) -> None:
    """``rirdata.room(#).doa_xyz`` in a v7.3 file: a struct array is a group of reference datasets."""
    grids = [_tau_grid(1), _tau_grid(2, positions=True)]
    with Mat73Writer(tmp_path / "rirdata.mat") as w:
        room = w.struct(w.struct(w.f, "rirdata"), "room")
        refs = np.empty((len(grids), 1), dtype=h5py.ref_dtype)  # a 2x1 MATLAB struct array
        for k, grid in enumerate(grids):
            refs[k, 0] = w.cell(w.refs, f"cell{k}", grid).ref
        room.create_dataset("doa_xyz", data=refs.T)
    cell = read_cell(tmp_path / "rirdata.mat", "rirdata/room(#)/doa_xyz", number=2)
    assert cell.shape == (2, 2)
    for t in range(2):
        for h in range(2):
            np.testing.assert_array_equal(cell[t, h], np.atleast_2d(grids[1][t][h]))
    with pytest.raises(ValueError, match="no number is known"):
        read_cell(tmp_path / "rirdata.mat", "rirdata.room(#).doa_xyz")


# --- CLI ------------------------------------------------------------------------------------------------


@pytest.fixture
def cli():
    """The ``foabench`` entry point."""
    return main


def test_cli_rir_folder(cli, rir_folder: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, csv = rir_folder
    out = tmp_path / "cli-bank"
    argv = ["bank", "rir-folder", str(src), "--positions", str(csv), "--out", str(out), "--convention", "orthonormal"]
    assert cli([*argv, "--no-progress", "--license", "CC-BY-4.0"]) == 0
    captured = capsys.readouterr()
    assert "4 RIRs in 2 rooms" in captured.out
    assert "source conventions: ambix (1), fuma (1), n3d (1), orthonormal (1)" in captured.out
    assert "RT60" in captured.out and "DRR" in captured.out and "azimuth" in captured.out
    assert "stereo.wav" in captured.err
    assert {r.license for r in open_bank(out).records} == {"CC-BY-4.0"}


def test_cli_errors_exit_2(cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_sofa_spatialscaper(tmp_path / "r.sofa", _irs("n3d", LOCAL, 0), LOCAL, np.zeros((3, 3)))
    argv = ["bank", "sofa", str(path), "--out", str(tmp_path / "b"), "--convention", "fuma", "--no-progress"]
    assert cli(argv) == 2
    err = capsys.readouterr().err
    assert "foabench: error" in err and str(path) in err and "'ambix'" in err
    assert not (tmp_path / "b").exists()
    tau = ["bank", "tau-srir", str(tmp_path), "--out", str(tmp_path / "t"), "--no-progress"]
    assert cli(tau) == 2
    assert "--convention" in capsys.readouterr().err
    assert cli([*tau, "--convention", "ambix"]) == 2
    assert "no rirs_*.mat files" in capsys.readouterr().err
