"""A static HTML report of a leaderboard: tables, plots, listening examples and provenance, in one folder.

``report.html`` references only files beside it by relative paths (``plots/*.png``, ``audio/...``), so the
folder opens from disk, can be zipped or served as is; no JavaScript, no external resources. Listening
examples are copied (not linked) from the results folders' ``examples/`` into ``audio/``: for a few mixtures
the mixture (W channel), and per target the query clip and text, the reference and every separator's estimate
for the audio and the text query, with that row's SI-SDRi.
"""

from __future__ import annotations

import re
import shutil
from html import escape
from pathlib import Path
from urllib.parse import quote

from foabench import synth
from foabench.benchmark.leaderboard import (
    CHANNEL_COLUMNS,
    DASH,
    DEPTH_COLUMNS,
    MAIN_COLUMNS,
    QUERY_KINDS,
    Entry,
    Leaderboard,
    Result,
    channel_cells,
    channel_label,
    depth_cells,
    fmt,
    fmt_params,
    main_cells,
    manifest_line,
)
from foabench.synth.audio_io import atomic_write_text
from foabench.synth.headphones import DECODER

PLOT_CAPTIONS = {
    "class.png": "SI-SDRi per class (audio queries; bars: 95% interval)",
    "rt60.png": "SI-SDRi against the RT60 of the target's RIR (audio queries)",
    "sources.png": "SI-SDRi against the number of sources in the mixture (audio queries)",
    "audio_vs_text.png": "Audio against text queries: SI-SDRi per separator",
}

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px;
       padding: 0 1rem; color: #222; line-height: 1.4; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2rem; margin-top: 2.5rem; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ddd; padding: 0.3rem 0.5rem; text-align: left; vertical-align: middle; }
th { background: #f0f3f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.unranked td { background: #f7f7f7; color: #666; font-style: italic; }
span.badge { display: inline-block; font-size: 0.75rem; font-style: normal; padding: 0 0.4rem;
             border-radius: 0.6rem; background: #e6d3a3; color: #5a4300; margin-left: 0.3rem; }
span.missing { color: #999; font-size: 0.85rem; }
p.note { color: #8a5a00; } p.meta { color: #555; margin-top: 0; }
figure { margin: 1rem 0 2rem; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9rem; }
div.example { border: 1px solid #ddd; border-radius: 6px; padding: 0.6rem 1rem; margin: 1rem 0; }
audio { height: 2rem; width: 230px; vertical-align: middle; }
nav a { margin-right: 1rem; }
"""


NOT_EVALUATED = '<span class="missing">not evaluated</span>'


def _safe(name: str) -> str:
    """A file-name-safe form of ``name`` (letters, digits, ``.``, ``_``, ``-``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "x"


def _num(text: str) -> str:
    return f'<td class="num">{escape(text)}</td>'


#: the main table's first score column (the columns before it are text)
FIRST_SCORE = MAIN_COLUMNS.index("audio SI-SDR")


def _table(columns: tuple[str, ...], rows: list[tuple[list[str], str]], numeric_from: int = 0) -> str:
    """An HTML table; ``rows`` are (cells, css class of the row); cells from ``numeric_from`` on align right."""
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    for cells, cls in rows:
        tds = "".join(_num(c) if i >= numeric_from else f"<td>{escape(c)}</td>" for i, c in enumerate(cells))
        body.append(f'<tr class="{cls}">{tds}</tr>' if cls else f"<tr>{tds}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _main_row(e: Entry) -> tuple[list[str], str]:
    return main_cells(e), "" if e.section == "ranked" else "unranked"


def _tables_html(lb: Leaderboard, out: Path) -> str:
    parts = ['<section id="tables"><h2>Leaderboard</h2>',
             f'<p class="meta">Manifest: {escape(manifest_line(lb))}. SI-SDR, SDR and SI-SDRi in dB; ranked by '
             "audio-query SI-SDRi (95% bootstrap interval over mixtures).</p>"]  # fmt: skip
    if lb.ranked:
        parts.append(_table(MAIN_COLUMNS, [_main_row(e) for e in lb.ranked], numeric_from=FIRST_SCORE))
    else:
        parts.append("<p>No ranked separator.</p>")
    if lb.unranked:
        parts.append(
            "<h3>Oracle information and bounds (not ranked)</h3><p class='meta'>These read the true "
            "direction or the reference, or are reference points (the mixture, oracle masks).</p>"
        )
        parts.append(_table(MAIN_COLUMNS, [_main_row(e) for e in lb.unranked], numeric_from=FIRST_SCORE))
    if lb.channel_table:
        parts.append("<h3>Channel configuration (BSAST: FOA vs W only)</h3>")
        parts.append(_table(CHANNEL_COLUMNS, [(channel_cells(r), "") for r in lb.channel_table], numeric_from=4))
    if lb.depth_table:
        parts.append("<h3>Block-count ablation (BSAST)</h3>")
        parts.append(_table(DEPTH_COLUMNS, [(depth_cells(r), "") for r in lb.depth_table], numeric_from=4))
    parts += [f'<p class="note">Note: {escape(n)}</p>' for n in lb.notes]
    files = [n for n in ("leaderboard.csv", "leaderboard.json", "leaderboard.md") if (out / n).is_file()]
    if files:
        links = ", ".join(f'<a href="{quote(n)}">{escape(n)}</a>' for n in files)
        parts.append(f"<p>Tables as files: {links}.</p>")
    return "\n".join(parts) + "</section>"


def _plots_html(out: Path) -> str:
    figs = [f'<figure><img src="plots/{quote(name)}" alt="{escape(cap)}"><figcaption>{escape(cap)}</figcaption>'
            "</figure>" for name, cap in PLOT_CAPTIONS.items() if (out / "plots" / name).is_file()]  # fmt: skip
    return '<section id="plots"><h2>Plots</h2>' + "\n".join(figs) + "</section>" if figs else ""


class _Audio:
    """Copies listening files into ``out/audio`` and renders players for them."""

    def __init__(self, out: Path):
        self.out = out
        self.copied = 0

    def player(self, src: Path | None, rel: str) -> str:
        """An ``<audio>`` player for ``src`` copied to ``audio/rel``; a "not saved" marker if it is missing."""
        if src is None or not src.is_file():
            return '<span class="missing">not saved</span>'
        dest = self.out / "audio" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        self.copied += 1
        return f'<audio controls preload="none" src="audio/{quote(rel)}"></audio>'


def _example_mixtures(results: list[Result], n: int) -> list[str]:
    """The first ``n`` mixtures (in row order) with listening files in at least one results folder."""
    order: list[str] = []
    for r in results:
        for row in r.rows:
            if row["mixture"] not in order:
                order.append(row["mixture"])
    files = [p.name for r in results if (r.path / "examples").is_dir() for p in (r.path / "examples").glob("*.flac")]
    return [m for m in order if any(f.startswith(f"{m}_") for f in files)][:n]


def _first(results: list[Result], name: str) -> Path | None:
    """``examples/name`` of the first results folder that has it (the manifest's files are shared)."""
    for r in results:
        if (r.path / "examples" / name).is_file():
            return r.path / "examples" / name
    return None


def _example_html(mixture: str, results: list[Result], lb: Leaderboard, audio: _Audio, slugs: dict[str, str]) -> str:
    rows = {(row["mixture"], row["event"], row["query"]): row for r in results for row in r.rows
            if row["mixture"] == mixture}  # fmt: skip
    by_entry = {e.name: {(row["event"], row["query"]): row for row in e.result.rows if row["mixture"] == mixture}
                for e in lb.entries if e.result}  # fmt: skip
    any_row = next(iter(rows.values()))
    info = (f"room {any_row.get('room', '?')}, {any_row.get('n_sources', '?')} sources "
            f"({any_row.get('n_targets', '?')} targets, {any_row.get('n_interferers', '?')} interferers)"
            f"{', diffuse noise' if any_row.get('noise') else ''}")  # fmt: skip
    mix = audio.player(_first(results, f"{mixture}_mixture.flac"), f"{_safe(mixture)}_mixture.flac")
    stereo = audio.player(_first(results, f"{mixture}_mixture_stereo.flac"), f"{_safe(mixture)}_mixture_stereo.flac")
    parts = [f'<div class="example"><h3>{escape(mixture)}</h3><p class="meta">{escape(info)}</p>',
             f"<p>Mixture (W channel): {mix} &nbsp; Headphones: {stereo}</p>",
             f'<p class="meta">Headphone preview: {escape(DECODER)}; each estimate\'s second player puts it back '
             "at its source's direction through the same decoder.</p>",
             _space_map(mixture, rows, results, audio)]  # fmt: skip
    for k in sorted({ev for _, ev, _ in rows}):
        row = next(rows[key] for key in rows if key[1] == k)
        stem = f"{mixture}_{k}"
        query = audio.player(_first(results, f"{stem}_query.flac"), f"{_safe(stem)}_query.flac")
        ref = audio.player(_first(results, f"{stem}_reference.flac"), f"{_safe(stem)}_reference.flac")
        where = f"azimuth {fmt(row.get('azimuth'))}°, elevation {fmt(row.get('elevation'))}°, RT60 " + (
            f"{row['rt60']:.2f} s" if row.get("rt60") is not None else DASH
        )
        parts.append(f"<h4>Target {k}: {escape(str(row.get('label', '?')))}</h4>"
                     f'<p class="meta">{escape(where)}</p>'
                     f"<p>Text query: “{escape(str(row.get('query_text', '')))}”</p>"
                     f"<p>Audio query: {query} &nbsp; Reference: {ref}</p>")  # fmt: skip
        table = ["<table><thead><tr><th>separator</th>"
                 + "".join(f"<th>{kind} query</th><th>SI-SDRi</th>" for kind in QUERY_KINDS)
                 + "</tr></thead><tbody>"]  # fmt: skip
        for e in lb.entries:
            cls = "" if e.section == "ranked" else ' class="unranked"'
            badge = f'<span class="badge">{escape(e.mark)}</span>' if e.mark else ""
            cells = [f"<td>{escape(e.name)}{badge}</td>"]
            for kind in QUERY_KINDS:
                r = by_entry.get(e.name, {}).get((k, kind))
                src = e.result.path / "examples" / f"{stem}_{kind}.flac" if e.result else None
                player = audio.player(src, f"{slugs[e.name]}/{_safe(stem)}_{kind}.flac") if r else NOT_EVALUATED
                placed = e.result.path / "examples" / f"{stem}_{kind}_stereo.flac" if e.result else None
                if r and placed is not None and placed.is_file():  # the estimate heard from its source's direction
                    player += " " + audio.player(placed, f"{slugs[e.name]}/{_safe(stem)}_{kind}_stereo.flac")
                cells += [f"<td>{player}</td>",
                          _num(fmt(r.get("si_sdri"), True) if r else DASH)]  # fmt: skip
            table.append(f"<tr{cls}>{''.join(cells)}</tr>")
        parts.append("".join(table) + "</tbody></table>")
    return "\n".join(parts) + "</div>"


def _space_map(mixture: str, rows: dict, results: list[Result], audio: _Audio) -> str:
    """The mixture's direction map with its targets' true directions and their spatial queries marked."""
    from foabench.benchmark.plots import plot_direction_map

    npz = _first(results, f"{mixture}_directions.npz")
    if npz is None:
        return ""
    markers, seen = [], set()
    for (_, k, _), row in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][2])):
        if k in seen or row.get("azimuth") is None:
            continue
        seen.add(k)
        markers.append((row["azimuth"], row["elevation"], f"{k}: {row.get('label', '?')}", "target"))
        for key, kind in (("direction_query", "query"), ("region_query", "region"), ("pointcloud_query", "cloud")):
            if row.get(key):
                markers.append((row[key][0], row[key][1], f"{k}", kind))
    name = f"{_safe(mixture)}_directions.png"
    plot_direction_map(npz, markers, f"{mixture}: directional energy (pseudo-intensity)", audio.out / "maps" / name)
    return (
        f'<figure><img src="maps/{quote(name)}" alt="direction map of {escape(mixture)}">'
        "<figcaption>Where the mixture's direct energy comes from (pseudo-intensity of each STFT bin), "
        "targets' true directions (circles), their direction queries (crosses), region centres (squares) and the "
        "directions of their point clouds' centroids (diamonds)"
        "</figcaption></figure>"
    )


def _examples_html(results: list[Result], lb: Leaderboard, audio: _Audio, n: int) -> str:
    mixtures = _example_mixtures(results, n)
    if not mixtures:
        return ""
    slugs = {e.name: f"{i:02d}-{_safe(e.name)}" for i, e in enumerate(lb.entries, 1)}
    intro = ("<p class='meta'>Estimates are scaled down (never up) to avoid clipping; SI-SDRi is that row's "
             "score. Files are FLAC.</p>")  # fmt: skip
    body = "\n".join(_example_html(m, results, lb, audio, slugs) for m in mixtures)
    return f'<section id="examples"><h2>Listening examples</h2>{intro}{body}</section>'


def _short(h: str | None, n: int = 12) -> str:
    return h[:n] if h else DASH


def _model_text(e: Entry) -> str:
    """``bsast tiny, FOA, 2 blocks`` for a trained model; ``—`` otherwise."""
    if not e.model:
        return DASH
    text = f"{e.model} {e.preset or ''}".strip()
    return text + (f", {channel_label(e.n_channels)}, {e.depth} blocks" if e.depth is not None else "")


def _provenance_html(lb: Leaderboard) -> str:
    cols = ("separator", "section", "spec", "checkpoint sha256", "parameters", "training", "model", "encoder",
            "manifest", "reference", "foabench", "results")  # fmt: skip
    rows = []
    for e in lb.entries:
        p = e.result.provenance if e.result else {}
        sep, enc, man = p.get("separator") or {}, p.get("encoder") or {}, p.get("manifest") or {}
        steps, secs = sep.get("train_steps"), sep.get("train_seconds")
        training = f"{steps} steps, {secs:.0f} s" if steps and secs else str(steps) + " steps" if steps else DASH
        model = _model_text(e)
        encoder = f"{enc.get('name', '?')} {_short(enc.get('hash'))}" if enc else DASH
        manifest = f"{man.get('split') or '?'} {_short(man.get('rows_sha256'))}"
        cells = [e.name, e.mark or "ranked", e.spec, _short(sep.get("checkpoint_sha256")), fmt_params(e.parameters),
                 training, model, encoder, manifest, str(p.get("reference", DASH)), str(p.get("foabench", DASH)),
                 e.result.path.name if e.result else DASH]  # fmt: skip
        rows.append((cells, "" if e.section == "ranked" else "unranked"))
    return '<section id="provenance"><h2>Provenance</h2>' + _table(cols, rows, numeric_from=len(cols)) + "</section>"


def write_report(results: list[Result], lb: Leaderboard, out_dir: str | Path, n_examples: int = 3) -> Path:
    """Write ``out_dir/report.html`` and copy its listening files into ``out_dir/audio/``.

    Plots are those already in ``out_dir/plots`` (:func:`foabench.benchmark.plots.write_plots`); estimates come from the
    leaderboard's entries, the mixture, query and reference files from the first of ``results`` that has them.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    audio = _Audio(out)
    title = "foabench leaderboard"
    sections = [
        _tables_html(lb, out),
        _plots_html(out),
        _examples_html(results or lb.results, lb, audio, n_examples),
        _provenance_html(lb),
    ]
    nav = " ".join(f'<a href="#{s}">{s}</a>' for s in ("tables", "plots", "examples", "provenance")
                   if f'id="{s}"' in "".join(sections))  # fmt: skip
    html = (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
            f"<style>{CSS}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
            f'<p class="meta">{escape(manifest_line(lb))} · {len(lb.entries)} separators · written by foabench '
            f"{escape(synth.__version__)}</p>\n<nav>{nav}</nav>\n" + "\n".join(s for s in sections if s)
            + "\n</body>\n</html>\n")  # fmt: skip
    path = out / "report.html"
    atomic_write_text(path, html)
    return path
