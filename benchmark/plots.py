"""Leaderboard plots (matplotlib, Agg backend, PNG): SI-SDRi per class, against RT60 and number of sources, and
audio against text queries, one colour per separator. Oracle separators and bounds are drawn hatched/dashed
and pale, and labelled as such, so they are never mistaken for ranked entries.

Breakdowns are the results' summaries (:func:`foabench.benchmark.breakdowns.breakdown`, recomputed from the rows when
a summary lacks them). Output is deterministic: fixed colours, fixed order, no timestamps in the files.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D

from foabench.benchmark.breakdowns import bin_sort_key as bin_order
from foabench.benchmark.breakdowns import breakdown
from foabench.benchmark.leaderboard import Entry, Leaderboard, Result, build_leaderboard
from foabench.synth.audio_io import atomic_write_bytes

DPI = 110
QUERY_COLOURS = {"audio": "#1f77b4", "text": "#ff7f0e"}


def _colours(n: int) -> list:
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20" if n <= 20 else "turbo")
    if n <= 20:
        return [cmap(i % cmap.N) for i in range(n)]
    return [cmap(i / max(n - 1, 1)) for i in range(n)]


def _label(e: Entry) -> str:
    return f"{e.name} ({e.mark})" if e.mark else e.name


def _style(e: Entry) -> dict:
    """Ranked entries solid; oracle and bound entries pale, hatched bars and dashed lines."""
    return {"alpha": 0.45, "hatch": "//", "linestyle": "--"} if e.section != "ranked" else {}


def _save(fig, path: Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return path


def _breakdown(e: Entry, by: str, kind: str = "audio") -> dict[str, dict]:
    """``{bin: {"mean", "ci", "n"}}`` of SI-SDRi for one entry's ``kind`` queries, from its summary if there."""
    r: Result | None = e.result
    if r is None:
        return {}
    stored = ((r.summary.get("by_query") or {}).get(kind) or {}).get("breakdowns", {}).get(by)
    if stored is not None:
        return stored
    return breakdown([row for row in r.rows if row.get("query") == kind], by)


def _err(stats: dict) -> tuple[float, float]:
    ci, m = stats.get("ci"), stats.get("mean")
    if not ci or m is None:
        return 0.0, 0.0
    return max(m - ci[0], 0.0), max(ci[1] - m, 0.0)


def _legend(fig, entries: list[Entry], colours: list, lines: bool) -> None:
    handles = []
    for e, c in zip(entries, colours, strict=True):
        st = _style(e)
        if lines:
            handles.append(Line2D([], [], color=c, marker="o", linestyle=st.get("linestyle", "-"),
                                  alpha=st.get("alpha", 1.0), label=_label(e)))  # fmt: skip
        else:
            handles.append(plt.Rectangle((0, 0), 1, 1, facecolor=c, alpha=st.get("alpha", 1.0),
                                         hatch=st.get("hatch"), label=_label(e)))  # fmt: skip
    fig.legend(handles=handles, loc="outside right upper", fontsize=8, frameon=False)


def plot_classes(lb: Leaderboard, path: Path) -> Path:
    """Grouped horizontal bars: SI-SDRi per class (audio queries), one colour per separator."""
    entries = lb.entries
    data = [_breakdown(e, "class") for e in entries]
    classes = sorted({c for d in data for c in d}, reverse=True)  # top to bottom: alphabetical
    n, k = len(entries), max(len(classes), 1)
    bar = 0.8 / max(n, 1)
    height = min(max(2.5, 0.6 + k * (n * 0.16 + 0.25)), 60.0)
    fig, ax = plt.subplots(figsize=(10, height), layout="constrained")
    colours = _colours(n)
    for i, (e, d, c) in enumerate(zip(entries, data, colours, strict=True)):
        ys, xs, errs = [], [], []
        for j, cls in enumerate(classes):
            stats = d.get(cls)
            if stats and stats.get("mean") is not None:
                ys.append(j + 0.4 - (i + 0.5) * bar)
                xs.append(stats["mean"])
                errs.append(_err(stats))
        st = _style(e)
        ax.barh(ys, xs, height=bar, color=c, alpha=st.get("alpha", 1.0), hatch=st.get("hatch"),
                xerr=list(zip(*errs, strict=True)) if errs else None,
                error_kw={"elinewidth": 0.8, "capsize": 1.5, "ecolor": "0.3"})  # fmt: skip
    ax.set_yticks(range(len(classes)), classes)
    ax.axvline(0, color="0.4", linewidth=0.8)
    ax.set_xlabel("SI-SDRi (dB)")
    ax.set_title("SI-SDRi per class (audio queries)")
    ax.grid(axis="x", alpha=0.3)
    _legend(fig, entries, colours, lines=False)
    return _save(fig, path)


def plot_breakdown(lb: Leaderboard, by: str, path: Path, xlabel: str) -> Path:
    """SI-SDRi per bin of ``by`` (``rt60``, ``sources`` ...), a line with markers per separator."""
    entries = lb.entries
    data = [_breakdown(e, by) for e in entries]
    bins = sorted({b for d in data for b in d}, key=bin_order)
    pos = {b: i for i, b in enumerate(bins)}
    fig, ax = plt.subplots(figsize=(9, 4.8), layout="constrained")
    colours = _colours(len(entries))
    step = min(0.5 / max(len(entries), 1), 0.06)  # dodge: separators side by side within a bin
    for i, (e, d, c) in enumerate(zip(entries, data, colours, strict=True)):
        shift = (i - (len(entries) - 1) / 2) * step
        pts = [(pos[b] + shift, s["mean"], _err(s)) for b, s in d.items() if s.get("mean") is not None]
        if not pts:
            continue
        xs, ys, errs = zip(*sorted(pts), strict=True)
        st = _style(e)
        ax.errorbar(xs, ys, yerr=list(zip(*errs, strict=True)), color=c, marker="o", markersize=5, capsize=3,
                    linestyle=st.get("linestyle", "-"), alpha=st.get("alpha", 1.0), linewidth=1.4)  # fmt: skip
    ax.set_xticks(range(len(bins)), bins)
    ax.set_xlim(-0.5, max(len(bins) - 0.5, 0.5))
    ax.axhline(0, color="0.4", linewidth=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("SI-SDRi (dB)")
    ax.set_title(f"SI-SDRi against {xlabel} (audio queries; bars: 95% interval)")
    ax.grid(alpha=0.3)
    _legend(fig, entries, colours, lines=True)
    return _save(fig, path)


def plot_audio_vs_text(lb: Leaderboard, path: Path) -> Path:
    """Paired horizontal bars per separator: SI-SDRi with audio and with text queries."""
    entries = lb.entries
    n = len(entries)
    fig, ax = plt.subplots(figsize=(9, min(max(2.5, 0.8 + n * 0.45), 40.0)), layout="constrained")
    for q, (kind, colour) in enumerate(QUERY_COLOURS.items()):
        for i, e in enumerate(entries):
            m = e.metrics.get(kind) or {}
            if m.get("si_sdri") is None:
                continue
            err = _err({"mean": m["si_sdri"], "ci": m.get("si_sdri_ci")})
            st = _style(e)
            ax.barh(i - 0.2 + 0.4 * q, m["si_sdri"], height=0.4, color=colour, alpha=st.get("alpha", 1.0),
                    hatch=st.get("hatch"), xerr=[[err[0]], [err[1]]],
                    error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "0.3"})  # fmt: skip
    ax.set_yticks(range(n), [_label(e) for e in entries])
    for tick, e in zip(ax.get_yticklabels(), entries, strict=True):
        if e.section != "ranked":
            tick.set_color("0.45")
    ax.invert_yaxis()  # leaderboard order, top to bottom
    ax.axvline(0, color="0.4", linewidth=0.8)
    ax.set_xlabel("SI-SDRi (dB)")
    ax.set_title("Audio vs text queries (pale, hatched: oracle information or bound)")
    ax.grid(axis="x", alpha=0.3)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c, label=f"{k} query") for k, c in QUERY_COLOURS.items()]
    ax.legend(handles=handles, loc="best", fontsize=8)
    return _save(fig, path)


def write_plots(lb: Leaderboard | list[Result], out_dir: str | Path) -> list[Path]:
    """Write every plot of :data:`PLOTS` into ``out_dir``; returns the PNG paths."""
    if not isinstance(lb, Leaderboard):
        lb = build_leaderboard(lb)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [
        plot_classes(lb, out / "class.png"),
        plot_breakdown(lb, "rt60", out / "rt60.png", "RT60"),
        plot_breakdown(lb, "sources", out / "sources.png", "number of sources"),
        plot_audio_vs_text(lb, out / "audio_vs_text.png"),
    ]
