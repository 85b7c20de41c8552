"""Leaderboard plots: the value axis follows the separators, not the bounds; bins with few targets are faded.

Results folders are written by hand (provenance, rows, summary); no model runs.
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from foabench.benchmark.breakdowns import summarize_rows
from foabench.benchmark.leaderboard import Leaderboard, build_leaderboard, load_results
from foabench.benchmark.plots import MIN_BIN_TARGETS, _breakdown, _breakdown_figure, _classes_figure, write_plots

SHA = "a" * 64
#: targets: (label, n_sources, rt60); dog and violin hold 12 targets each, speech 3; 2 sources: 15, 3: 12
TARGETS = [("dog" if t < 12 else "violin" if t < 24 else "speech", 2 if t < 15 else 3, 0.2 if t % 3 else 0.7)
           for t in range(27)]  # fmt: skip


def make_result(root: Path, name: str, base: float, *, oracle: bool = False, bound: bool = False) -> Path:
    """A results folder with audio-query rows for :data:`TARGETS`, SI-SDRi ``base`` +- 0.6 dB."""
    out = root / name
    out.mkdir(parents=True)
    prov = {"separator": {"spec": name, "name": name, "oracle": oracle, "bound": bound, "uses": []},
            "manifest": {"rows_sha256": SHA, "split": "test"}, "queries": ["audio"]}  # fmt: skip
    rows = []
    for t, (label, n_sources, rt60) in enumerate(TARGETS):
        si_sdri = base + ((t * 7) % 5 - 2) * 0.3
        rows.append({"key": f"m{t // 3}/{t}/audio", "mixture": f"m{t // 3}", "event": t, "query": "audio",
                     "label": label, "n_sources": n_sources, "n_interferers": n_sources - 1, "rt60": rt60,
                     "drr_db": 3.0, "snr_db": 10.0, "silent_reference": False, "si_sdri": si_sdri,
                     "si_sdr": si_sdri - 2.0, "sdr": si_sdri - 1.0, "sdri": si_sdri, "mixture_si_sdr": -2.0,
                     "mixture_sdr": -1.0})  # fmt: skip
    (out / "provenance.json").write_text(json.dumps(prov))
    (out / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (out / "summary.json").write_text(json.dumps({**summarize_rows(rows), "provenance": prov}))
    return out


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def board(tmp_path: Path) -> Leaderboard:
    r = tmp_path / "results"
    dirs = [make_result(r, "sep-a", 2.0), make_result(r, "sep-b", 0.5),
            make_result(r, "oracle-mwf", 20.0, oracle=True, bound=True),
            make_result(r, "mixture", 0.0, bound=True)]  # fmt: skip
    return build_leaderboard(load_results(dirs))


def _axes(fig: Figure, gid: str) -> Axes:
    return next(ax for ax in fig.axes if ax.get_gid() == gid)


def _faded(artist) -> bool:
    return (artist.get_alpha() if artist.get_alpha() is not None else 1.0) < 0.5


def _means(lb: Leaderboard, name: str, by: str) -> dict[str, float]:
    entry = next(e for e in lb.entries if e.name == name)
    return {b: s["mean"] for b, s in _breakdown(entry, by).items()}


def _check_scale(lb: Leaderboard, fig: Figure, by: str, lo: float, hi: float) -> None:
    """Separators and the 0 dB bound inside the limits; oracle-mwf outside, its values written in the panel."""
    assert hi < 20
    for name in ("sep-a", "sep-b", "mixture"):
        assert all(lo < v < hi for v in _means(lb, name, by).values()), name
    bound = _means(lb, "oracle-mwf", by)
    assert all(v > hi for v in bound.values())
    panel = _axes(fig, "bounds")
    assert sorted(t.get_text() for t in panel.texts) == sorted(f"{v:+.1f}" for v in bound.values())
    assert any(t.get_text().startswith("+20.") for t in panel.texts)
    names = [t.get_text() for t in (*panel.get_xticklabels(), *panel.get_yticklabels())]
    assert any("oracle-mwf" in t and ("↑" in t or "→" in t) for t in names)


def _legend_labels(fig: Figure) -> list[str]:
    return [t.get_text() for leg in fig.legends for t in leg.get_texts()]


def test_classes_axis_follows_the_separators_and_bounds_are_written_apart(board: Leaderboard) -> None:
    fig = _classes_figure(board)
    ax = _axes(fig, "values")
    _check_scale(board, fig, "class", *ax.get_xlim())
    bars = {p.get_gid(): p for p in ax.patches if p.get_gid()}
    assert {"sep-a|dog", "sep-b|violin", "mixture|dog"} <= set(bars)  # the 0 dB bound fits: drawn
    assert not any(g.startswith("oracle-mwf|") for g in bars)
    ticks = {t.get_text().split()[0]: t for t in ax.get_yticklabels()}
    assert {k: t.get_text().split()[-1] for k, t in ticks.items()} == {"dog": "n=12", "speech": "n=3",
                                                                       "violin": "n=12"}  # fmt: skip
    assert _faded(bars["sep-a|speech"]) and _faded(bars["sep-b|speech"])
    assert not _faded(bars["sep-a|dog"]) and not _faded(bars["sep-b|violin"])
    assert ticks["speech"].get_color() != ticks["dog"].get_color()
    labels = _legend_labels(fig)
    assert f"bins with fewer than {MIN_BIN_TARGETS} targets are faded" in labels and "sep-a" in labels
    assert not any("oracle-mwf" in t for t in labels)


@pytest.mark.parametrize(("by", "counts"), [("sources", {"2": 15, "3": 12}),
                                            ("rt60", {"<0.3 s": 18, "0.6-0.9 s": 9})])  # fmt: skip
def test_breakdown_axis_follows_the_separators_and_few_target_bins_are_faded(
    board: Leaderboard, by: str, counts: dict[str, int]
) -> None:
    fig = _breakdown_figure(board, by, by)
    ax = _axes(fig, "values")
    _check_scale(board, fig, by, *ax.get_ylim())
    points = {ln.get_gid(): ln for ln in ax.lines if ln.get_gid()}
    assert not any(g.startswith("oracle-mwf|") for g in points)
    assert {t.get_text() for t in ax.get_xticklabels()} == {f"{b}\nn={n}" for b, n in counts.items()}
    for b, n in counts.items():
        for name in ("sep-a", "sep-b"):
            assert _faded(points[f"{name}|{b}"]) == (n < MIN_BIN_TARGETS), (name, b)
    few = any(n < MIN_BIN_TARGETS for n in counts.values())
    assert (f"bins with fewer than {MIN_BIN_TARGETS} targets are faded" in _legend_labels(fig)) == few


def test_without_bounds_off_scale_there_is_no_bounds_panel(tmp_path: Path) -> None:
    dirs = [make_result(tmp_path, "sep-a", 2.0), make_result(tmp_path, "mixture", 0.0, bound=True)]
    lb = build_leaderboard(load_results(dirs))
    for fig in (_classes_figure(lb), _breakdown_figure(lb, "sources", "number of sources")):
        assert [ax.get_gid() for ax in fig.axes] == ["values"]


def test_write_plots_files(board: Leaderboard, tmp_path: Path) -> None:
    paths = write_plots(board, tmp_path / "plots")
    assert [p.name for p in paths] == ["class.png", "rt60.png", "sources.png", "audio_vs_text.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)
