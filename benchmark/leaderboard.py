"""The leaderboard: results folders of ``foabench eval`` -> ranked tables (Markdown, CSV, JSON).

One row per separator with its SI-SDR, SDR and SI-SDRi (95% interval) for audio and text queries. Separators
ranked 1..n by audio-query SI-SDRi (ties: text-query SI-SDRi) are those that use neither oracle information
nor are bounds; oracle separators and bounds (the mixture floor, oracle masks) are listed below them, marked,
and never ranked, whatever their score.

Two tables from the paper appear when the runs for them exist: the channel configuration (a BSAST on FOA
next to the same preset and depth on the W channel only) and the block-count ablation (BSAST runs whose
configurations differ only in depth).

Means and intervals come from the results folder's ``summary.json``; a folder without one (an interrupted
run) or with a summary older than its rows is summarized again from ``rows.jsonl``
(:func:`foabench.benchmark.breakdowns.summarize_rows`).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from foabench.benchmark.breakdowns import summarize_rows
from foabench.benchmark.labelled_eval import RULE_NAMES
from foabench.benchmark.result_rows import read_result_rows
from foabench.synth.audio_io import atomic_write_text

QUERY_KINDS = ("audio", "text")
METRICS = ("si_sdr", "sdr", "si_sdri")
METRIC_NAMES = {"si_sdr": "SI-SDR", "sdr": "SDR", "si_sdri": "SI-SDRi", "sdri": "SDRi"}
DASH = "—"
SECTIONS = ("ranked", "oracle", "bound")


class LeaderboardError(ValueError):
    """Results folders that cannot be read or put on one leaderboard."""


@dataclass
class Result:
    """One results folder: its provenance, its rows, its summary (read or recomputed) and a display name."""

    path: Path
    provenance: dict
    rows: list[dict]
    summary: dict
    name: str = ""
    problems: list[str] = field(default_factory=list)  # why the results are incomplete or inconsistent

    @property
    def complete(self) -> bool:
        return not self.problems

    @property
    def separator(self) -> dict:
        return self.provenance.get("separator") or {}

    @property
    def oracle(self) -> bool:
        return bool(self.separator.get("oracle"))

    @property
    def bound(self) -> bool:
        return bool(self.separator.get("bound"))


@dataclass
class Entry:
    """One leaderboard row. ``metrics[kind]`` holds si_sdr, sdr, si_sdri, si_sdri_ci, sdri and n."""

    name: str
    section: str  # ranked | oracle | bound
    rank: int | None
    spec: str
    oracle: bool
    bound: bool
    uses: list[str]
    parameters: int | None
    metrics: dict[str, dict]
    model: str | None = None
    preset: str | None = None
    n_channels: int | None = None
    depth: int | None = None
    train_steps: int | None = None
    train_seconds: float | None = None
    path: str = ""
    class_aware: dict | None = None  # summary["class_aware"] (labelled_eval.summarize_labelled) or None
    result: Result | None = field(default=None, repr=False, compare=False)

    @property
    def mark(self) -> str:
        """``"oracle"``, ``"bound"``, ``"oracle bound"`` or ``""``."""
        return " ".join(m for m, on in (("oracle", self.oracle), ("bound", self.bound)) if on)

    def value(self, kind: str, metric: str) -> float | None:
        return (self.metrics.get(kind) or {}).get(metric)

    @property
    def training(self) -> str:
        """How the row was trained: ``shipped reference, 4000 steps (2.9 h)``, ``150 steps (3.1 min)``, or
        ``none`` for a training-free baseline or bound (``—`` when a separator does not say)."""
        if self.train_steps is None:
            from foabench.benchmark.baseline_separators import BASELINES

            return "none" if self.spec in BASELINES else DASH
        secs = self.train_seconds
        took = "" if secs is None else f" ({secs / 3600:.1f} h)" if secs >= 3600 else f" ({secs / 60:.1f} min)"
        kind = "shipped reference, " if self.spec.startswith("reference:") else ""
        return f"{kind}{self.train_steps} steps{took}"


@dataclass
class Leaderboard:
    """Ranked entries first, then oracle and bound entries; the paper's tables when their runs exist."""

    entries: list[Entry]
    manifest: dict
    channel_table: list[dict] | None = None
    depth_table: list[dict] | None = None
    notes: list[str] = field(default_factory=list)
    benchmark: dict | None = None  # name, version, sha256 of benchmark.json, when every result shares one

    @property
    def ranked(self) -> list[Entry]:
        return [e for e in self.entries if e.section == "ranked"]

    @property
    def unranked(self) -> list[Entry]:
        return [e for e in self.entries if e.section != "ranked"]

    @property
    def results(self) -> list[Result]:
        return [e.result for e in self.entries if e.result is not None]


# ---------------------------------------------------------------------------------------------------- loading


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LeaderboardError(f"{path}: malformed JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise LeaderboardError(f"{path}: expected a JSON object")
    return data


def _read_rows(path: Path) -> list[dict]:
    """The rows of ``rows.jsonl``; a torn last line (no newline: an interrupted write) is skipped."""
    if not path.is_file():
        raise LeaderboardError(f"{path.parent}: no rows.jsonl (has `foabench eval` written any result yet?)")
    try:
        rows = read_result_rows(path)
    except ValueError as exc:
        raise LeaderboardError(str(exc)) from exc
    for i, row in enumerate(rows, 1):
        if not isinstance(row, dict) or "query" not in row or "mixture" not in row:
            raise LeaderboardError(f"{path}: row {i} is not a result row (needs at least 'mixture' and 'query')")
    if not rows:
        raise LeaderboardError(f"{path}: no result rows (evaluation interrupted before its first batch?)")
    return rows


def _summary_is_current(summary: dict, rows: list[dict]) -> bool:
    by_query = summary.get("by_query")
    if summary.get("rows") != len(rows) or not isinstance(by_query, dict) or not by_query:
        return False
    return all("si_sdri_ci" in e and "breakdowns" in e for e in by_query.values())


def _expand(paths: list[str | Path]) -> list[Path]:
    """Results folders; a folder without provenance.json stands for its subfolders that have one."""
    out = []
    for p in map(Path, paths):
        if not p.exists():
            raise LeaderboardError(f"{p}: no such results folder")
        if not p.is_dir():
            raise LeaderboardError(f"{p}: not a folder (pass results folders written by `foabench eval --out`)")
        if (p / "provenance.json").is_file():
            out.append(p)
            continue
        children = sorted(c for c in p.iterdir() if c.is_dir() and (c / "provenance.json").is_file())
        if not children:
            raise LeaderboardError(f"{p}: no provenance.json — not a results folder of `foabench eval` "
                                   "(nor a folder of such results folders)")  # fmt: skip
        out += children
    return out


def _problems(prov: dict, rows: list[dict], has_summary: bool) -> list[str]:
    """Why a results folder cannot be ranked as it is: no summary (an interrupted run), fewer rows than its
    manifest's targets times its query types, or rows computed by another run than its provenance records."""
    problems = [] if has_summary else ["no summary.json (the evaluation did not finish)"]
    expected = prov.get("expected_rows")
    if isinstance(expected, int) and len(rows) < expected:
        problems.append(f"{len(rows)} of {expected} rows")
    run = prov.get("run")
    foreign = sum(r.get("run") != run for r in rows) if run else sum("run" in r for r in rows)
    if foreign:
        problems.append(f"{foreign} rows computed by another run than provenance.json records")
    return problems


def load_result(path: str | Path) -> Result:
    """Read one results folder (provenance.json, rows.jsonl and summary.json if current), noting what makes it
    incomplete or inconsistent (:attr:`Result.problems`); rows of another run are set aside, never scored."""
    p = Path(path)
    if not (p / "provenance.json").is_file():
        raise LeaderboardError(f"{p}: no provenance.json — not a results folder of `foabench eval`")
    prov = _read_json(p / "provenance.json")
    if not isinstance(prov.get("separator"), dict) or not prov["separator"].get("name"):
        raise LeaderboardError(f"{p / 'provenance.json'}: no separator name")
    rows = _read_rows(p / "rows.jsonl")
    has_summary = (p / "summary.json").is_file()
    problems = _problems(prov, rows, has_summary)
    if prov.get("run"):
        rows = [r for r in rows if r.get("run") == prov["run"]]
        if not rows:
            raise LeaderboardError(f"{p}: none of its rows were computed by the run its provenance.json records")
    summary = _read_json(p / "summary.json") if has_summary else {}
    if problems or not _summary_is_current(summary, rows):
        summary = summarize_rows(rows)
    return Result(path=p, provenance=prov, rows=rows, summary=summary, name=prov["separator"]["name"],
                  problems=problems)  # fmt: skip


def _disambiguate(results: list[Result]) -> None:
    """Separators sharing a name get ``name [spec]``, then ``name [spec] (folder)`` if still equal."""
    for attempt in (lambda r: f"{r.name} [{r.separator.get('spec')}]", lambda r: f"{r.name} ({r.path.name})",
                    lambda r: f"{r.name} ({r.path})"):  # fmt: skip
        counts: dict[str, int] = {}
        for r in results:
            counts[r.name] = counts.get(r.name, 0) + 1
        dups = {n for n, c in counts.items() if c > 1}
        if not dups:
            return
        for r in results:
            if r.name in dups:
                r.name = attempt(r)


def load_results(paths: list[str | Path], allow_mixed_manifests: bool = False,
                 allow_incomplete: bool = False) -> list[Result]:  # fmt: skip
    """Read results folders (or folders of them). Refuses results of different manifests unless
    ``allow_mixed_manifests``, and incomplete or inconsistent ones (:func:`load_result`) unless
    ``allow_incomplete``, which keeps them with ``(incomplete)`` after their name in every table, plot and
    report."""
    folders = _expand(paths)
    if not folders:
        raise LeaderboardError("no results folders given")
    seen: set[Path] = set()
    results = []
    for f in folders:
        if f.resolve() not in seen:
            seen.add(f.resolve())
            results.append(load_result(f))
    _check_benchmarks(results, allow_mixed_manifests)
    hashes: dict[str | None, list[str]] = {}
    for r in results:
        hashes.setdefault((r.provenance.get("manifest") or {}).get("rows_sha256"), []).append(str(r.path))
    if len(hashes) > 1 and not allow_mixed_manifests:
        detail = "; ".join(f"{(h or 'unknown')[:12]}: {', '.join(ps)}" for h, ps in hashes.items())
        raise LeaderboardError("results were computed on different manifests (rows_sha256 differ), so their "
                               f"scores are not comparable: {detail}. Evaluate every separator on the same "
                               "split, or pass --allow-mixed-manifests")  # fmt: skip
    incomplete = [r for r in results if not r.complete]
    if incomplete and not allow_incomplete:
        detail = "; ".join(f"{r.path}: {', '.join(r.problems)}" for r in incomplete)
        raise LeaderboardError(f"incomplete or inconsistent results would be ranked: {detail}. Finish them by "
                               "running the same `foabench eval` again (it resumes), or pass --allow-incomplete "
                               "to show them marked as incomplete")  # fmt: skip
    for r in incomplete:
        r.name = f"{r.name} (incomplete)"
    _disambiguate(results)
    return results


def benchmark_of(r: Result) -> tuple[str, str] | None:
    """(name, sha256 of its benchmark.json) of the benchmark a result was scored on, or None."""
    b = r.provenance.get("benchmark")
    return (str(b.get("name")), str(b.get("sha256"))) if isinstance(b, dict) else None


def _check_benchmarks(results: list[Result], allow_mixed: bool) -> None:
    """Refuse results of two builds of one benchmark whose ``benchmark.json`` differ (never comparable), and,
    unless ``allow_mixed``, results of different benchmarks (or of a benchmark and a split of one's own)."""
    groups: dict[tuple[str, str] | None, list[str]] = {}
    for r in results:
        groups.setdefault(benchmark_of(r), []).append(str(r.path))
    names: dict[str, list[tuple[str, str]]] = {}
    for key in groups:
        if key is not None:
            names.setdefault(key[0], []).append(key)
    for name, keys in names.items():
        if len(keys) > 1:
            detail = "; ".join(f"benchmark.json {k[1][:12]}: {', '.join(groups[k])}" for k in keys)
            raise LeaderboardError(f"results were scored on {len(keys)} different builds of benchmark {name!r} "
                                   f"(their benchmark.json differ), so they cannot be ranked together: {detail}. "
                                   "Score every separator on one build; `foabench benchmark verify` tells which "
                                   "one holds the published data")  # fmt: skip
    if len(groups) > 1 and not allow_mixed:
        detail = "; ".join(f"{k[0] if k else 'no benchmark'}: {', '.join(ps)}" for k, ps in groups.items())
        raise LeaderboardError(f"results come from different benchmarks, so their scores are not comparable: "
                               f"{detail}. Rank each benchmark on its own board, or pass "
                               "--allow-mixed-manifests")  # fmt: skip


# ---------------------------------------------------------------------------------------------------- tables


def _metrics(summary: dict) -> dict[str, dict]:
    out = {}
    for kind, e in (summary.get("by_query") or {}).items():
        ci = e.get("si_sdri_ci")
        out[kind] = {"si_sdr": e.get("si_sdr"), "sdr": e.get("sdr"), "si_sdri": e.get("si_sdri"),
                     "si_sdri_ci": list(ci) if ci else None, "sdri": e.get("sdri"), "n": e.get("n")}  # fmt: skip
    return out


def _is_bsast(model: str | None, config: dict | None) -> bool:
    if model:
        return model.startswith("bsast")
    return bool(config) and {"depth", "n_channels", "channel_merge"} <= set(config)


def _entry(r: Result) -> Entry:
    sep = r.separator
    section = "bound" if r.bound else "oracle" if r.oracle else "ranked"
    config = sep.get("model_config") if isinstance(sep.get("model_config"), dict) else None
    entry = Entry(name=r.name, section=section, rank=None, spec=str(sep.get("spec", "")), oracle=r.oracle,
                  bound=r.bound, uses=list(sep.get("uses") or []), parameters=sep.get("parameters"),
                  metrics=_metrics(r.summary), model=sep.get("model"), train_steps=sep.get("train_steps"),
                  train_seconds=sep.get("train_seconds"), path=str(r.path), class_aware=r.summary.get("class_aware"),
                  result=r)  # fmt: skip
    if config:
        entry.preset = config.get("name")
        entry.n_channels = config.get("n_channels")
        entry.depth = config.get("depth")
    return entry


def _sort_key(e: Entry) -> tuple:
    """Audio SI-SDRi descending, then text SI-SDRi descending; missing scores last; then by name."""
    a, t = e.value("audio", "si_sdri"), e.value("text", "si_sdri")
    return (a is None, -(a or 0.0), t is None, -(t or 0.0), e.name)


def _channel_table(entries: list[Entry]) -> list[dict] | None:
    """FOA next to W for each BSAST (preset, depth) that has both; ``None`` when no such pair exists."""
    groups: dict[tuple, dict[int, list[Entry]]] = {}
    for e in entries:
        cfg = e.result.separator.get("model_config") if e.result else None
        if e.section == "ranked" and e.n_channels in (1, 4) and _is_bsast(e.model, cfg):
            groups.setdefault((e.preset, e.depth), {}).setdefault(int(e.n_channels), []).append(e)
    table = []
    for (preset, depth), by_ch in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), kv[0][1] or 0)):
        foa, w = by_ch.get(4, []), by_ch.get(1, [])
        for f, m in zip(foa, w, strict=False):  # one row per FOA/W pair; an unpaired run has no row
            row: dict = {"model": "bsast", "preset": preset, "depth": depth, "foa": f.name, "w": m.name}
            for kind in QUERY_KINDS:
                a, b = f.value(kind, "si_sdri"), m.value(kind, "si_sdri")
                row[f"{kind}_foa"], row[f"{kind}_w"] = a, b
                row[f"{kind}_delta"] = None if a is None or b is None else round(a - b, 3)
            table.append(row)
    return table or None


def channel_label(n: int | None) -> str:
    """``FOA`` for 4 channels, ``W`` for 1, else ``N ch``."""
    return {4: "FOA", 1: "W"}.get(n, f"{n} ch") if n is not None else DASH


def _depth_table(entries: list[Entry]) -> list[dict] | None:
    """SI-SDRi against depth for BSAST runs whose configs differ only in depth (and preset name)."""
    groups: dict[str, list[Entry]] = {}
    for e in entries:
        cfg = e.result.separator.get("model_config") if e.result else None
        if e.section == "ranked" and cfg and e.depth is not None and _is_bsast(e.model, cfg):
            rest = {k: v for k, v in cfg.items() if k not in ("depth", "name")}
            groups.setdefault(json.dumps(rest, sort_keys=True), []).append(e)
    table = []
    for members in groups.values():
        if len({e.depth for e in members}) < 2:
            continue
        for e in sorted(members, key=lambda e: (e.depth, _sort_key(e))):
            table.append({"model": "bsast", "channels": channel_label(e.n_channels), "preset": e.preset,
                          "depth": e.depth, "separator": e.name, "parameters": e.parameters,
                          "audio_si_sdri": e.value("audio", "si_sdri"),
                          "text_si_sdri": e.value("text", "si_sdri")})  # fmt: skip
    return table or None


def _notes(results: list[Result]) -> list[str]:
    notes = []
    manifests = {(r.provenance.get("manifest") or {}).get("rows_sha256") for r in results}
    if len(manifests) > 1:
        notes.append(f"results come from {len(manifests)} different manifests: scores are not directly comparable")
    refs = {r.provenance.get("reference") for r in results}
    if len(refs) > 1:
        notes.append(f"results are scored against different references ({', '.join(sorted(map(str, refs)))})")
    encoders = {(r.provenance.get("encoder") or {}).get("hash") for r in results} - {None}
    if len(encoders) > 1:
        notes.append(f"separators were given queries from {len(encoders)} different encoders")
    for r in results:
        if not r.complete:
            notes.append(f"{r.name}: {'; '.join(r.problems)} — scores from the {len(r.rows)} rows of its run")
    return notes


def build_leaderboard(results: list[Result]) -> Leaderboard:
    """Rank the results: non-oracle, non-bound separators 1..n, then oracle and bound entries unranked."""
    entries = sorted((_entry(r) for r in results), key=_sort_key)
    ranked = [e for e in entries if e.section == "ranked"]
    for i, e in enumerate(ranked, 1):
        e.rank = i
    others = [e for e in entries if e.section != "ranked"]
    manifest = dict((results[0].provenance.get("manifest") or {}) if results else {})
    benchmarks = [r.provenance.get("benchmark") for r in results]
    benchmark = benchmarks[0] if benchmarks and all(b == benchmarks[0] for b in benchmarks) else None
    return Leaderboard(entries=ranked + others, manifest=manifest, channel_table=_channel_table(ranked),
                       depth_table=_depth_table(ranked), notes=_notes(results), benchmark=benchmark)  # fmt: skip


# ---------------------------------------------------------------------------------------------------- formats


def fmt(x: float | None, signed: bool = False) -> str:
    """A dB value with two decimals (``+`` sign if ``signed``); ``—`` for a missing value."""
    return DASH if x is None else (f"{x:+.2f}" if signed else f"{x:.2f}")


def fmt_ci(value: float | None, ci: list[float] | None) -> str:
    """``+3.21 [2.10, 4.30]``; the interval left out when there is none."""
    if value is None:
        return DASH
    return fmt(value, True) + (f" [{ci[0]:+.2f}, {ci[1]:+.2f}]" if ci else "")


def fmt_params(n: int | None) -> str:
    """``1.23 M`` / ``45.6 k`` / ``—``."""
    if not n:
        return DASH
    return f"{n / 1e6:.2f} M" if n >= 1e6 else f"{n / 1e3:.1f} k" if n >= 1e3 else str(n)


MAIN_COLUMNS = ("rank", "separator", "reads", "uses oracle", "parameters", "training", "audio SI-SDR", "audio SDR",
                "audio SI-SDRi (95% CI)", "text SI-SDR", "text SDR", "text SI-SDRi (95% CI)", "n targets")  # fmt: skip


def n_targets(e: Entry) -> str:
    """Scored targets: one number, or ``audio / text`` when the query types differ."""
    ns = [e.value(k, "n") for k in QUERY_KINDS if e.value(k, "n") is not None]
    return DASH if not ns else str(ns[0]) if len(set(ns)) == 1 else " / ".join(map(str, ns))


#: how the main table names what a separator reads (its ``uses``)
READS = {"query_embedding": "query embedding", "query_text": "query text", "query_audio": "query clip",
         "query_direction": "direction query", "query_region": "region query", "query_pointcloud": "point-cloud query",
         "oracle_direction": "true direction",
         "oracle_target": "true target"}  # fmt: skip


def reads(e: Entry) -> str:
    """What the separator reads besides the mixture, e.g. ``direction query`` or ``query embedding``."""
    return ", ".join(READS.get(u, u) for u in e.uses) or DASH


def main_cells(e: Entry) -> list[str]:
    """The cells of :data:`MAIN_COLUMNS` for one entry (text, unescaped)."""
    cells = [
        str(e.rank) if e.rank else e.mark,
        e.name,
        reads(e),
        "yes" if e.oracle else "no",
        fmt_params(e.parameters),
        e.training,
    ]
    for kind in QUERY_KINDS:
        cells += [fmt(e.value(kind, "si_sdr")), fmt(e.value(kind, "sdr")),
                  fmt_ci(e.value(kind, "si_sdri"), e.value(kind, "si_sdri_ci"))]  # fmt: skip
    return [*cells, n_targets(e)]


CHANNEL_COLUMNS = ("preset", "depth", "FOA run", "W run", "audio SI-SDRi FOA", "audio SI-SDRi W", "audio Δ",
                   "text SI-SDRi FOA", "text SI-SDRi W", "text Δ")  # fmt: skip


def channel_cells(row: dict) -> list[str]:
    """The cells of :data:`CHANNEL_COLUMNS` for one row of the channel-configuration table."""
    cells = [str(row["preset"]), str(row["depth"]), row["foa"], row["w"]]
    for kind in QUERY_KINDS:
        cells += [fmt(row[f"{kind}_foa"], True), fmt(row[f"{kind}_w"], True), fmt(row[f"{kind}_delta"], True)]
    return cells


DEPTH_COLUMNS = ("channels", "preset", "blocks", "separator", "parameters", "audio SI-SDRi", "text SI-SDRi")


def depth_cells(row: dict) -> list[str]:
    """The cells of :data:`DEPTH_COLUMNS` for one row of the block-count table."""
    return [row["channels"], str(row["preset"]), str(row["depth"]), row["separator"], fmt_params(row["parameters"]),
            fmt(row["audio_si_sdri"], True), fmt(row["text_si_sdri"], True)]  # fmt: skip


def _md_table(columns: tuple[str, ...], rows: list[list[str]]) -> list[str]:
    def cell(s: str) -> str:
        return s.replace("|", "\\|")

    out = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    return out + ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]


def manifest_line(lb: Leaderboard) -> str:
    """``split test, 8 mixtures, rows sha256 e2cd077bace7``."""
    m = lb.manifest
    return (f"split {m.get('split') or '?'}, {m.get('num_rows', '?')} mixtures, "
            f"rows sha256 {(m.get('rows_sha256') or '?')[:12]}")  # fmt: skip


def format_markdown(lb: Leaderboard, main_only: bool = False) -> str:
    """The leaderboard as Markdown: the ranked table, then oracle/bound entries, then the paper's tables."""
    title = "## Leaderboard" + (f": {lb.benchmark['name']}" if lb.benchmark else "")
    lines = [title, ""]
    if lb.benchmark:
        lines += [f"Benchmark {lb.benchmark['name']} (version {lb.benchmark.get('version')}, benchmark.json sha256 "
                  f"{str(lb.benchmark.get('sha256'))[:12]}).", ""]  # fmt: skip
    lines += [f"Manifest: {manifest_line(lb)}. SI-SDR, SDR and SI-SDRi in dB; ranked by audio-query SI-SDRi.", ""]
    lines += _md_table(MAIN_COLUMNS, [main_cells(e) for e in lb.ranked]) if lb.ranked else ["(no ranked separator)"]
    if lb.unranked:
        lines += ["", "### Oracle information and bounds (not ranked)", ""]
        lines += _md_table(MAIN_COLUMNS, [main_cells(e) for e in lb.unranked])
    if main_only:
        return "\n".join(lines)
    if lb.channel_table:
        lines += ["", "### Channel configuration (BSAST: FOA vs W only)", ""]
        lines += _md_table(CHANNEL_COLUMNS, [channel_cells(r) for r in lb.channel_table])
    if lb.depth_table:
        lines += ["", "### Block-count ablation (BSAST)", ""]
        lines += _md_table(DEPTH_COLUMNS, [depth_cells(r) for r in lb.depth_table])
    labelled = [e for e in lb.entries if e.class_aware]
    if labelled:
        rules = sorted({e.class_aware["rule"] for e in labelled})
        lines += ["", "### Class-aware scores (DCASE Task 4; separators that label what they extract)", ""]
        lines += _md_table(class_columns(rules), [class_cells(e, rules) for e in labelled])
    if lb.notes:
        lines += ["", *(f"> note: {n}" for n in lb.notes)]
    return "\n".join(lines)


LABELLING = {"segment": "segment()", "detect": "detect() + a text query per label",
             "oracle": "oracle labels + a text query per label"}  # fmt: skip


def class_columns(rules: list[str]) -> list[str]:
    """The class-aware table's header: the metric of each rule the results follow (CA-SDRi 2025, CAPI-SDRi 2026)."""
    return ["separator", "labels from", *(f"{RULE_NAMES[r]} [95 % CI]" for r in rules), "label accuracy [95 % CI]",
            "mixtures"]  # fmt: skip


def _with_ci(stats: dict | None, signed: bool, unit: str = "") -> str:
    if not stats or stats.get("mean") is None:
        return DASH
    ci = stats.get("ci")
    text = fmt(stats["mean"], signed) + unit
    return text + (f" [{fmt(ci[0], signed)}, {fmt(ci[1], signed)}]" if ci else "")


def class_cells(e: Entry, rules: list[str]) -> list[str]:
    ca = e.class_aware
    scores = [_with_ci(ca.get(r), True) if ca.get("rule") == r else DASH for r in rules]
    return [e.name, LABELLING.get(ca.get("mode"), str(ca.get("mode"))), *scores,
            _with_ci(ca.get("label_accuracy"), False, " %"), str(ca.get("n_mixtures", DASH))]  # fmt: skip


CSV_FIELDS = ("section", "rank", "separator", "spec", "uses_oracle", "bound", "uses", "parameters", "model",
              "preset", "n_channels", "depth",
              *(f"{k}_{m}" for k in QUERY_KINDS for m in ("si_sdr", "sdr", "si_sdri", "si_sdri_ci_low",
                                                          "si_sdri_ci_high", "sdri", "n")),
              "class_rule", "class_sdri", "class_sdri_ci_low", "class_sdri_ci_high", "label_accuracy",
              "label_accuracy_ci_low", "label_accuracy_ci_high",
              "results")  # fmt: skip


def _csv_row(e: Entry) -> dict:
    row = {"section": e.section, "rank": e.rank, "separator": e.name, "spec": e.spec, "uses_oracle": e.oracle,
           "bound": e.bound, "uses": " ".join(e.uses), "parameters": e.parameters, "model": e.model,
           "preset": e.preset, "n_channels": e.n_channels, "depth": e.depth, "results": e.path}  # fmt: skip
    for kind in QUERY_KINDS:
        ci = e.value(kind, "si_sdri_ci") or [None, None]
        for m in ("si_sdr", "sdr", "si_sdri", "sdri", "n"):
            row[f"{kind}_{m}"] = e.value(kind, m)
        row[f"{kind}_si_sdri_ci_low"], row[f"{kind}_si_sdri_ci_high"] = ci
    ca = e.class_aware or {}
    if ca:
        score, accuracy = ca.get(ca["rule"]) or {}, ca.get("label_accuracy") or {}
        row.update(class_rule=ca["rule"], class_sdri=score.get("mean"), label_accuracy=accuracy.get("mean"))
        row["class_sdri_ci_low"], row["class_sdri_ci_high"] = score.get("ci") or [None, None]
        row["label_accuracy_ci_low"], row["label_accuracy_ci_high"] = accuracy.get("ci") or [None, None]
    return {k: "" if v is None else v for k, v in row.items()}


def format_csv(lb: Leaderboard) -> str:
    """One CSV row per separator (ranked, then oracle and bound rows; ``section`` says which)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(_csv_row(e) for e in lb.entries)
    return buf.getvalue()


def to_dict(lb: Leaderboard) -> dict:
    """The leaderboard as plain data (the JSON file)."""
    entries = []
    for e in lb.entries:
        entries.append({"section": e.section, "rank": e.rank, "separator": e.name, "mark": e.mark, "spec": e.spec,
                        "uses_oracle": e.oracle, "bound": e.bound, "uses": e.uses, "parameters": e.parameters,
                        "model": e.model, "preset": e.preset, "n_channels": e.n_channels, "depth": e.depth,
                        "metrics": e.metrics, "class_aware": e.class_aware, "results": e.path,
                        "complete": e.result.complete if e.result else True})  # fmt: skip
    return {"manifest": lb.manifest, "benchmark": lb.benchmark, "ranked_by": "audio si_sdri (ties: text si_sdri)",
            "entries": entries, "channel_configuration": lb.channel_table, "block_count": lb.depth_table,
            "notes": lb.notes}  # fmt: skip


def write_tables(lb: Leaderboard, out_dir: str | Path) -> list[Path]:
    """Write ``leaderboard.md``, ``leaderboard.csv`` and ``leaderboard.json`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"leaderboard.md": format_markdown(lb) + "\n", "leaderboard.csv": format_csv(lb),
             "leaderboard.json": json.dumps(to_dict(lb), indent=2, sort_keys=True) + "\n"}  # fmt: skip
    for name, text in files.items():
        atomic_write_text(out / name, text)
    return [out / name for name in files]
