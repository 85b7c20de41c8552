"""Leaderboard plots (matplotlib, Agg backend, PNG): SI-SDRi per class, against RT60 and number of sources, and
audio against text queries, one colour per separator. Oracle separators and bounds are drawn hatched/dashed
and pale, and labelled as such, so they are never mistaken for ranked entries.

In the per-class and breakdown plots the value axis is set by the entries that are not bounds (ranked and
oracle separators); a bound whose values fall outside it (an oracle mask at +20 dB) is not drawn there but
listed with its values in a small panel beside the plot. Bins holding fewer than :data:`MIN_BIN_TARGETS`
targets are faded, and every bin's tick label gives its number of targets.

Breakdowns are the results' summaries (:func:`foabench.benchmark.breakdowns.breakdown`, recomputed from the rows when
a summary lacks them). Output is deterministic: fixed colours, fixed order, no timestamps in the files.
"""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from foabench.benchmark.breakdowns import bin_sort_key as bin_order
from foabench.benchmark.breakdowns import breakdown
from foabench.benchmark.leaderboard import Entry, Leaderboard, Result, build_leaderboard
from foabench.synth.audio_io import atomic_write_bytes

DPI = 110
QUERY_COLOURS = {"audio": "#1f77b4", "text": "#ff7f0e"}
#: bins (classes, breakdown bins) with fewer targets than this are faded: too few to compare separators on
MIN_BIN_TARGETS = 10
FADE = 0.3  # alpha factor of a faded bin
FEW_NOTE = f"bins with fewer than {MIN_BIN_TARGETS} targets are faded"
FEW_COLOUR = "0.55"  # tick labels of faded bins


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


def _counts(data: list[dict[str, dict]]) -> dict[str, int]:
    """Targets per bin: the most any entry scored in it (entries of one board share their targets)."""
    counts: dict[str, int] = {}
    for d in data:
        for b, s in d.items():
            counts[b] = max(counts.get(b, 0), int(s.get("n") or 0))
    return counts


def _means(d: dict[str, dict]) -> list[float]:
    return [s["mean"] for s in d.values() if s.get("mean") is not None]


def _value_range(entries: list[Entry], data: list[dict[str, dict]], counts: dict[str, int]) -> tuple[float, float]:
    """Axis limits from the non-bound entries (all entries if there are none): their means, the intervals of
    bins with enough targets, and 0, padded."""
    sel = [d for e, d in zip(entries, data, strict=True) if not e.bound] or data
    vals = [0.0]
    for d in sel:
        for b, s in d.items():
            if s.get("mean") is None:
                continue
            vals.append(s["mean"])
            if s.get("ci") and counts.get(b, 0) >= MIN_BIN_TARGETS:
                vals += [float(v) for v in s["ci"]]
    lo, hi = min(vals), max(vals)
    pad = max(0.08 * (hi - lo), 0.5)
    return lo - pad, hi + pad


def _arrow(d: dict[str, dict], lo: float, hi: float, up: str = "↑", down: str = "↓") -> str:
    """Where a bound's values leave the axis (``up``, ``down``, both) or ``""`` when they all fit on it."""
    vals = _means(d)
    return (up if any(v > hi for v in vals) else "") + (down if any(v < lo for v in vals) else "")


def _split(entries: list[Entry], data: list[dict], colours: list, lo: float, hi: float, up: str, down: str):
    """(entries drawn on the axis, bounds off its scale with their arrow), each as (entry, data, colour, ...)."""
    drawn, off = [], []
    for e, d, c in zip(entries, data, colours, strict=True):
        arrow = _arrow(d, lo, hi, up, down) if e.bound else ""
        (off if arrow else drawn).append((e, d, c, arrow) if arrow else (e, d, c))
    return drawn, off


def _legend(fig, entries: list[Entry], colours: list, lines: bool, few: bool = False) -> None:
    handles = []
    for e, c in zip(entries, colours, strict=True):
        st = _style(e)
        if lines:
            handles.append(Line2D([], [], color=c, marker="o", linestyle=st.get("linestyle", "-"),
                                  alpha=st.get("alpha", 1.0), label=_label(e)))  # fmt: skip
        else:
            handles.append(plt.Rectangle((0, 0), 1, 1, facecolor=c, alpha=st.get("alpha", 1.0),
                                         hatch=st.get("hatch"), label=_label(e)))  # fmt: skip
    if few:
        handles.append(plt.Rectangle((0, 0), 1, 1, facecolor="0.5", alpha=FADE, label=FEW_NOTE))
    fig.legend(handles=handles, loc="outside right upper", fontsize=8, frameon=False)


def _bin_label(b: str, counts: dict[str, int], sep: str) -> str:
    return f"{b}{sep}n={counts.get(b, 0)}"


def _grey_few(ticks, bins: list[str], counts: dict[str, int]) -> None:
    for tick, b in zip(ticks, bins, strict=True):
        if counts.get(b, 0) < MIN_BIN_TARGETS:
            tick.set_color(FEW_COLOUR)
            tick.set_fontstyle("italic")


def _bound_value(ax, x: float, y: float, value: float, n: int) -> None:
    """A bound's value written in the bounds panel, grey for a bin with few targets."""
    ax.text(x, y, f"{value:+.1f}", ha="center", va="center", fontsize=8,
            color=FEW_COLOUR if n < MIN_BIN_TARGETS else "0.15")  # fmt: skip


def _classes_figure(lb: Leaderboard) -> Figure:
    """The figure of :func:`plot_classes`; its value axes has gid ``"values"``, the bounds panel ``"bounds"``,
    each bar the gid ``"<entry name>|<class>"``."""
    entries = lb.entries
    data = [_breakdown(e, "class") for e in entries]
    classes = sorted({c for d in data for c in d}, reverse=True)  # top to bottom: alphabetical
    counts = _counts(data)
    lo, hi = _value_range(entries, data, counts)
    drawn, off = _split(entries, data, _colours(len(entries)), lo, hi, "→", "←")
    n, k = len(drawn), max(len(classes), 1)
    bar = 0.8 / max(n, 1)
    height = min(max(2.5, 0.9 + k * (n * 0.16 + 0.25)), 60.0)
    if off:
        fig, (ax, ax_b) = plt.subplots(1, 2, sharey=True, figsize=(10 + 1.2 * len(off), height),
                                       width_ratios=[10, 1.5 * len(off)], layout="constrained")  # fmt: skip
    else:
        fig, ax = plt.subplots(figsize=(10, height), layout="constrained")
    ax.set_gid("values")
    for i, (e, d, c) in enumerate(drawn):
        st = _style(e)
        for j, cls in enumerate(classes):
            stats = d.get(cls)
            if not stats or stats.get("mean") is None:
                continue
            few = counts.get(cls, 0) < MIN_BIN_TARGETS
            lo_err, hi_err = _err(stats)
            err_kw = {"elinewidth": 0.8, "capsize": 1.5, "ecolor": (0.3, 0.3, 0.3, FADE if few else 1.0)}
            bars = ax.barh(j + 0.4 - (i + 0.5) * bar, stats["mean"], height=bar, color=c,
                           alpha=st.get("alpha", 1.0) * (FADE if few else 1.0), hatch=st.get("hatch"),
                           xerr=[[lo_err], [hi_err]], error_kw=err_kw)  # fmt: skip
            bars.patches[0].set_gid(f"{e.name}|{cls}")
    ax.set_yticks(range(len(classes)), [_bin_label(c, counts, "  ") for c in classes])
    _grey_few(ax.get_yticklabels(), classes, counts)
    ax.set_ylim(-0.5, k - 0.5)
    ax.set_xlim(lo, hi)
    ax.axvline(0, color="0.4", linewidth=0.8)
    ax.set_xlabel("SI-SDRi (dB)")
    ax.grid(axis="x", alpha=0.3)
    if off:
        ax_b.set_gid("bounds")
        for col, (_e, d, _c, _a) in enumerate(off):
            for j, cls in enumerate(classes):
                stats = d.get(cls)
                if stats and stats.get("mean") is not None:
                    _bound_value(ax_b, col, j, stats["mean"], counts.get(cls, 0))
        ax_b.set_xlim(-0.5, len(off) - 0.5)
        ax_b.xaxis.tick_top()
        ax_b.set_xticks(range(len(off)), [f"{e.name}\n{a}" for e, _d, _c, a in off], fontsize=8)
        ax_b.tick_params(left=False, top=False)
        ax_b.set_xlabel("bounds off the scale (dB)", fontsize=8, color="0.3")
        for spine in ax_b.spines.values():
            spine.set_visible(False)
    ax.set_title("SI-SDRi per class (audio queries; bars: 95% interval)")
    _legend(fig, [e for e, *_ in drawn], [c for _e, _d, c in drawn], lines=False,
            few=any(v < MIN_BIN_TARGETS for v in counts.values()))  # fmt: skip
    return fig


def plot_classes(lb: Leaderboard, path: Path) -> Path:
    """Grouped horizontal bars: SI-SDRi per class (audio queries), one colour per separator."""
    return _save(_classes_figure(lb), path)


def _breakdown_figure(lb: Leaderboard, by: str, xlabel: str) -> Figure:
    """The figure of :func:`plot_breakdown`; its value axes has gid ``"values"``, the bounds panel ``"bounds"``,
    each point the gid ``"<entry name>|<bin>"``."""
    entries = lb.entries
    data = [_breakdown(e, by) for e in entries]
    bins = sorted({b for d in data for b in d}, key=bin_order)
    pos = {b: i for i, b in enumerate(bins)}
    counts = _counts(data)
    lo, hi = _value_range(entries, data, counts)
    drawn, off = _split(entries, data, _colours(len(entries)), lo, hi, "↑", "↓")
    if off:
        fig, (ax_b, ax) = plt.subplots(2, 1, sharex=True, figsize=(9, 4.8 + 0.3 * len(off)),
                                       height_ratios=[0.3 + 0.3 * len(off), 4.8], layout="constrained")  # fmt: skip
    else:
        fig, ax = plt.subplots(figsize=(9, 4.8), layout="constrained")
    ax.set_gid("values")
    step = min(0.5 / max(len(drawn), 1), 0.06)  # dodge: separators side by side within a bin
    for i, (e, d, c) in enumerate(drawn):
        shift = (i - (len(drawn) - 1) / 2) * step
        pts = sorted((pos[b] + shift, s["mean"], b) for b, s in d.items() if s.get("mean") is not None)
        st = _style(e)
        alpha = st.get("alpha", 1.0)
        for (x0, y0, b0), (x1, y1, b1) in itertools.pairwise(pts):
            few = min(counts.get(b0, 0), counts.get(b1, 0)) < MIN_BIN_TARGETS
            ax.plot([x0, x1], [y0, y1], color=c, linestyle=st.get("linestyle", "-"), linewidth=1.4,
                    alpha=alpha * (FADE if few else 1.0))  # fmt: skip
        for x, y, b in pts:
            err, few = _err(d[b]), counts.get(b, 0) < MIN_BIN_TARGETS
            eb = ax.errorbar([x], [y], yerr=[[err[0]], [err[1]]], color=c, marker="o", markersize=5, capsize=3,
                             linestyle="none", alpha=alpha * (FADE if few else 1.0))  # fmt: skip
            eb.lines[0].set_gid(f"{e.name}|{b}")
    for b in bins:
        if counts.get(b, 0) < MIN_BIN_TARGETS:
            ax.axvspan(pos[b] - 0.5, pos[b] + 0.5, color="0.93", zorder=0, linewidth=0)
    ax.set_xticks(range(len(bins)), [_bin_label(b, counts, "\n") for b in bins])
    _grey_few(ax.get_xticklabels(), bins, counts)
    ax.set_xlim(-0.5, max(len(bins) - 0.5, 0.5))
    ax.set_ylim(lo, hi)
    ax.axhline(0, color="0.4", linewidth=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("SI-SDRi (dB)")
    ax.grid(alpha=0.3)
    if off:
        ax_b.set_gid("bounds")
        for row, (_e, d, _c, _a) in enumerate(off):
            for b, s in d.items():
                if s.get("mean") is not None:
                    _bound_value(ax_b, pos[b], row, s["mean"], counts.get(b, 0))
        ax_b.set_ylim(len(off) - 0.5, -0.5)
        ax_b.set_yticks(range(len(off)), [f"{e.name} {a}" for e, _d, _c, a in off], fontsize=8)
        ax_b.tick_params(left=False, bottom=False, labelbottom=False)
        ax_b.set_xlabel("bounds off the scale (dB)", fontsize=8, color="0.3", loc="left")
        for spine in ax_b.spines.values():
            spine.set_visible(False)
    (ax_b if off else ax).set_title(f"SI-SDRi against {xlabel}\n(audio queries; bars: 95% interval)")
    _legend(fig, [e for e, *_ in drawn], [c for _e, _d, c in drawn], lines=True,
            few=any(v < MIN_BIN_TARGETS for v in counts.values()))  # fmt: skip
    return fig


def plot_breakdown(lb: Leaderboard, by: str, path: Path, xlabel: str) -> Path:
    """SI-SDRi per bin of ``by`` (``rt60``, ``sources`` ...), a line with markers per separator."""
    return _save(_breakdown_figure(lb, by, xlabel), path)


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


def plot_direction_map(npz: Path, markers: list[tuple[float, float, str, str]], title: str, path: Path) -> Path:
    """An azimuth-elevation map of a mixture's directional energy (``examples/*_directions.npz``, from
    :func:`foabench.baselines.doa.direction_map`) with ``(azimuth, elevation, label, kind)`` markers: kind
    ``target`` (a true direction), ``query`` (a direction query), ``region`` (a region query's centre) or
    ``cloud`` (the direction of a point-cloud query's centroid)."""
    import numpy as np

    with np.load(npz) as data:
        grid, az_edges, el_edges = data["map"], data["az_edges"], data["el_edges"]
    fig, ax = plt.subplots(figsize=(7.2, 3.4))
    ax.pcolormesh(az_edges, el_edges, np.sqrt(grid), cmap="magma", shading="flat")  # sqrt: weaker sources show
    styles = {"target": ("o", "#00e5ff"), "query": ("x", "#76ff03"), "region": ("s", "#ffea00"),
              "cloud": ("D", "#ff80ab")}  # fmt: skip
    for az, el, label, kind in markers:
        marker, colour = styles[kind]
        ax.plot([az], [el], marker=marker, color=colour, markersize=8, markerfacecolor="none", markeredgewidth=2)
        ax.annotate(label, (az, el), xytext=(5, 5), textcoords="offset points", color=colour, fontsize=8)
    ax.set_xlim(180, -180)  # azimuth grows to the left (counter-clockwise seen from above), as heard
    ax.set_ylim(-90, 90)
    ax.set_xlabel("azimuth (°, + left)")
    ax.set_ylabel("elevation (°)")
    ax.set_title(title, fontsize=9)
    handles = [Line2D([], [], marker=m, color=c, linestyle="", markerfacecolor="none", label=k)
               for k, (m, c) in styles.items() if any(kind == k for *_, kind in markers)]  # fmt: skip
    if handles:
        ax.legend(handles=handles, loc="lower left", fontsize=7, framealpha=0.6)
    fig.tight_layout()
    return _save(fig, path)
