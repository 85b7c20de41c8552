"""``foabench leaderboard``: ranking, the paper's tables, table files, plots, the HTML report and the command.

Results folders are written by hand (provenance, rows, small FLAC examples); no model runs.
"""

import argparse
import csv
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from foabench.benchmark import leaderboard_cli
from foabench.benchmark.breakdowns import summarize_rows
from foabench.benchmark.leaderboard import (
    MAIN_COLUMNS,
    Entry,
    LeaderboardError,
    build_leaderboard,
    format_markdown,
    load_results,
    write_tables,
)
from foabench.benchmark.plots import write_plots
from foabench.benchmark.report import write_report

SHA = "a" * 64
#: (mixture, event, label, n_sources, rt60, offset added to the separator's base SI-SDRi)
TARGETS = (
    ("test-000000", 0, "violin", 2, 0.2, -1.0),
    ("test-000000", 1, "dog", 2, 0.25, 1.0),
    ("test-000001", 0, "speech", 3, 0.5, 0.5),
    ("test-000002", 0, "violin", 2, 0.8, -0.5),
    ("test-000003", 1, "dog", 4, 1.0, 0.0),
)
SR = 8000


def _rows(name: str, oracle: bool, scores: dict[str, float], rt60: float | None) -> list[dict]:
    rows = []
    for mixture, event, label, n_sources, rt, off in TARGETS:
        for kind, base in scores.items():
            si_sdri = base + off
            rows.append({
                "key": f"{mixture}/{event}/{kind}", "mixture": mixture, "event": event, "target": event,
                "query": kind, "query_text": f"a {label} <sound> & more", "label": label, "n_targets": 1,
                "n_interferers": n_sources - 1, "n_sources": n_sources, "snr_db": 10.0, "azimuth": 30.0,
                "elevation": 0.0, "rt60": rt if rt60 is None else rt60, "drr_db": 3.0, "room": "room0000",
                "noise": True, "separator": name, "oracle": oracle, "reference": "direct",
                "silent_reference": False, "si_sdr": si_sdri - 2.0, "sdr": si_sdri - 1.0, "si_sdri": si_sdri,
                "sdri": si_sdri, "mixture_si_sdr": -2.0, "mixture_sdr": -1.0,
            })  # fmt: skip
    return rows


def _flac(path: Path, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.random.default_rng(seed).uniform(-0.1, 0.1, SR // 10), SR, subtype="PCM_16")


def make_result(root: Path, name: str, scores: dict[str, float], *, oracle: bool = False, bound: bool = False,
                spec: str | None = None, model: str | None = None, config: dict | None = None,
                parameters: int | None = None, manifest_sha: str = SHA, summary: bool = True,
                examples: int = 2, rt60: float | None = None, folder: str | None = None) -> Path:  # fmt: skip
    """A results folder as ``foabench eval`` writes it, with rows from :data:`TARGETS`."""
    out = root / (folder or re.sub(r"[^a-z0-9]+", "-", name.lower()))
    out.mkdir(parents=True)
    prov = {
        "separator": {"spec": spec or name, "name": name, "uses": ["oracle_target"] if oracle else ["query_embedding"],
                      "oracle": oracle, "bound": bound, "args": {}, "checkpoint": None,
                      "checkpoint_sha256": "c" * 64 if model else None, "parameters": parameters,
                      "train_steps": 100 if model else None, "train_seconds": 12.5 if model else None,
                      "model": model, "model_config": config},
        "manifest": {"path": "/data/test.jsonl", "rows_sha256": manifest_sha, "split": "test", "num_rows": 4},
        "encoder": {"name": "builtin", "hash": "e" * 64}, "banks": {}, "reference": "direct",
        "queries": list(scores), "foabench": "0.1.0", "torch": "2.13.0",
    }  # fmt: skip
    (out / "provenance.json").write_text(json.dumps(prov))
    rows = _rows(name, oracle, scores, rt60)
    (out / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if summary:
        (out / "summary.json").write_text(json.dumps({**summarize_rows(rows), "provenance": prov}))
    mixtures = sorted({t[0] for t in TARGETS})[:examples]
    for i, (mixture, event, *_) in enumerate(t for t in TARGETS if t[0] in mixtures):
        ex = out / "examples"
        _flac(ex / f"{mixture}_mixture.flac", 1)
        _flac(ex / f"{mixture}_{event}_reference.flac", 2)
        _flac(ex / f"{mixture}_{event}_query.flac", 3)
        for kind in scores:
            _flac(ex / f"{mixture}_{event}_{kind}.flac", 10 + i)
    return out


def bsast_config(n_channels: int, depth: int, preset: str = "tiny") -> dict:
    return {"name": preset, "n_channels": n_channels, "depth": depth, "dim": 32, "heads": 2,
            "channel_merge": "attention", "n_fft": 1024}  # fmt: skip


@pytest.fixture
def board_dirs(tmp_path: Path) -> list[Path]:
    r = tmp_path / "results"
    return [
        make_result(r, "sep-a", {"audio": 5.0, "text": 3.0}, parameters=1234),
        make_result(r, "sep-b", {"audio": 8.0, "text": 1.0}, parameters=2_500_000),
        make_result(r, "sep-c", {"audio": 5.0, "text": 4.0}),
        make_result(r, "text-only", {"text": 9.0}),
        make_result(r, "oracle-mask", {"audio": 20.0, "text": 20.0}, oracle=True, bound=True),
        make_result(r, "steer (oracle DOA)", {"audio": 12.0, "text": 12.0}, oracle=True),
        make_result(r, "mixture", {"audio": 0.0, "text": 0.0}, bound=True),
    ]


def test_ranking_and_table_files(board_dirs: list[Path], tmp_path: Path) -> None:
    lb = build_leaderboard(load_results(board_dirs))
    names = [e.name for e in lb.entries]
    assert [e.name for e in lb.ranked] == ["sep-b", "sep-c", "sep-a", "text-only"]  # c before a: text breaks the tie
    assert [e.rank for e in lb.ranked] == [1, 2, 3, 4]
    assert names[4:] == ["oracle-mask", "steer (oracle DOA)", "mixture"]  # apart, below, despite higher scores
    assert all(e.rank is None for e in lb.unranked)
    assert {e.name: e.section for e in lb.unranked} == {"oracle-mask": "bound", "steer (oracle DOA)": "oracle",
                                                         "mixture": "bound"}  # fmt: skip
    b = lb.entries[0]
    assert b.value("audio", "si_sdri") == pytest.approx(8.0) and b.value("audio", "si_sdri_ci") is not None
    assert lb.channel_table is None and lb.depth_table is None

    md = format_markdown(lb)
    assert md.index("| 4 | text-only") < md.index("### Oracle information and bounds") < md.index("| oracle-mask")
    assert re.search(r"^\| 4 \| text-only \| query embedding \| no \| — \| — \| — \| — \| — \| 7\.00 ", md, re.M)
    assert re.search(r"^\| oracle bound \| oracle-mask \| true target \| yes ", md, re.M)
    assert re.search(r"^\| oracle \| steer \(oracle DOA\) \| true target \| yes ", md, re.M)
    first = r"^\| 1 \| sep-b \| query embedding \| no \| 2\.50 M \| — \| 6\.00 \| 7\.00 \| \+8\.00 \["
    assert re.search(first, md, re.M)
    assert "Channel configuration" not in md and "Block-count" not in md

    out = tmp_path / "board"
    files = write_tables(lb, out)
    assert [f.name for f in files] == ["leaderboard.md", "leaderboard.csv", "leaderboard.json"]
    assert (out / "leaderboard.md").read_text().strip() == md
    with open(out / "leaderboard.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["separator"] for r in rows] == names
    assert [r["section"] for r in rows] == ["ranked"] * 4 + ["bound", "oracle", "bound"]
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4", "", "", ""]
    assert rows[3]["audio_si_sdri"] == "" and float(rows[3]["text_si_sdri"]) == pytest.approx(9.0)
    assert float(rows[0]["audio_si_sdri_ci_low"]) <= 8.0 <= float(rows[0]["audio_si_sdri_ci_high"])
    data = json.loads((out / "leaderboard.json").read_text())
    assert [e["separator"] for e in data["entries"]] == names
    for e, r in zip(data["entries"], rows, strict=True):
        assert e["section"] == r["section"] and str(e["rank"] or "") == r["rank"]
        audio = e["metrics"].get("audio")
        assert (audio["si_sdri"] if audio else None) == (float(r["audio_si_sdri"]) if r["audio_si_sdri"] else None)
    assert data["manifest"]["rows_sha256"] == SHA and data["channel_configuration"] is None


def test_summary_used_when_current(tmp_path: Path) -> None:
    d = make_result(tmp_path, "sep", {"audio": 1.0})
    summary = json.loads((d / "summary.json").read_text())
    summary["by_query"]["audio"]["si_sdri"] = 42.0  # the stored summary is what the board shows
    (d / "summary.json").write_text(json.dumps(summary))
    assert build_leaderboard(load_results([d])).entries[0].value("audio", "si_sdri") == 42.0
    with open(d / "rows.jsonl", "a") as fh:  # rows added after the summary: summarized again
        fh.write(json.dumps({**_rows("sep", False, {"audio": 1.0}, None)[0], "key": "x", "mixture": "m9"}) + "\n")
    assert build_leaderboard(load_results([d])).entries[0].value("audio", "si_sdri") != 42.0


def test_channel_and_block_count_tables(tmp_path: Path) -> None:
    r = tmp_path / "r"
    foa = make_result(r, "bsast-tiny", {"audio": 6.0, "text": 4.0}, model="bsast", config=bsast_config(4, 2))
    w = make_result(r, "bsast-w-tiny", {"audio": 3.0, "text": 2.0}, model="bsast-w", config=bsast_config(1, 2))
    deep = make_result(r, "bsast-tiny-d4", {"audio": 7.0, "text": 5.0}, model="bsast", config=bsast_config(4, 4))
    other = make_result(r, "resunet", {"audio": 2.0}, model="resunet", config={"name": "tiny", "n_channels": 1})

    lb = build_leaderboard(load_results([foa, w, other]))
    assert lb.channel_table is not None and len(lb.channel_table) == 1 and lb.depth_table is None
    row = lb.channel_table[0]
    assert (row["foa"], row["w"], row["preset"], row["depth"]) == ("bsast-tiny", "bsast-w-tiny", "tiny", 2)
    assert row["audio_delta"] == pytest.approx(3.0) and row["text_delta"] == pytest.approx(2.0)
    md = format_markdown(lb)
    assert "### Channel configuration" in md and "Block-count" not in md
    assert "| tiny | 2 | bsast-tiny | bsast-w-tiny | +6.00 | +3.00 | +3.00 |" in md

    lb = build_leaderboard(load_results([foa, deep, other]))
    assert lb.channel_table is None
    assert [(t["depth"], t["separator"]) for t in lb.depth_table] == [(2, "bsast-tiny"), (4, "bsast-tiny-d4")]
    md = format_markdown(lb)
    assert "### Block-count ablation" in md and "Channel configuration" not in md

    lb = build_leaderboard(load_results([foa, w, deep]))
    assert lb.channel_table and lb.depth_table and len(lb.depth_table) == 2

    lb = build_leaderboard(load_results([foa, other]))
    assert lb.channel_table is None and lb.depth_table is None


def test_load_errors_and_names(tmp_path: Path) -> None:
    a = make_result(tmp_path, "sep-a", {"audio": 1.0})
    b = make_result(tmp_path, "sep-b", {"audio": 2.0}, manifest_sha="b" * 64)
    with pytest.raises(LeaderboardError, match=r"different manifests.*--allow-mixed-manifests"):
        load_results([a, b])
    lb = build_leaderboard(load_results([a, b], allow_mixed_manifests=True))
    assert any("different manifests" in n for n in lb.notes)

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(LeaderboardError, match=r"no provenance\.json"):
        load_results([empty])
    with pytest.raises(LeaderboardError, match="no such results folder"):
        load_results([tmp_path / "missing"])
    (a / "provenance.json").write_text("{not json")
    with pytest.raises(LeaderboardError, match=r"provenance\.json: malformed JSON"):
        load_results([a])
    c = make_result(tmp_path, "sep-c", {"audio": 1.0})
    text = (c / "rows.jsonl").read_text().splitlines()
    (c / "rows.jsonl").write_text("\n".join([text[0], "{broken", *text[1:]]) + "\n")
    with pytest.raises(LeaderboardError, match=r"rows.jsonl:2: malformed JSON"):
        load_results([c])
    (c / "rows.jsonl").write_text("\n".join(text) + "\n" + text[0][:20])  # torn last line: skipped
    assert len(load_results([c])[0].rows) == len(text)

    d1 = make_result(tmp_path, "same", {"audio": 1.0}, spec="pkg.mod:Sep", folder="s1")
    d2 = make_result(tmp_path, "same", {"audio": 2.0}, spec="other.py:Sep", folder="s2")
    assert sorted(r.name for r in load_results([d1, d2])) == ["same [other.py:Sep]", "same [pkg.mod:Sep]"]
    d3 = make_result(tmp_path, "same", {"audio": 3.0}, spec="pkg.mod:Sep", folder="s3")
    names = [r.name for r in load_results([d1, d2, d3])]
    assert len(set(names)) == 3


def _is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_plots(board_dirs: list[Path], tmp_path: Path) -> None:
    paths = write_plots(build_leaderboard(load_results(board_dirs)), tmp_path / "p1")
    assert [p.name for p in paths] == ["class.png", "rt60.png", "sources.png", "audio_vs_text.png"]
    assert all(_is_png(p) for p in paths)

    single = [make_result(tmp_path / "one", "only", {"audio": 1.0}, rt60=0.2)]  # one separator, one RT60 bin
    assert all(_is_png(p) for p in write_plots(load_results(single), tmp_path / "p2"))

    many = [make_result(tmp_path / "many", f"sep-{i:02d}", {"audio": float(i), "text": i / 2}, oracle=i % 7 == 0,
                        rt60=0.2, examples=0) for i in range(20)]  # fmt: skip
    assert all(_is_png(p) for p in write_plots(load_results(many), tmp_path / "p3"))


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.audio: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for k, v in attrs:
            if k in ("src", "href") and v is not None:
                self.links.append(v)
                if tag == "audio":
                    self.audio.append(v)


def test_report_links_are_relative_and_exist(board_dirs: list[Path], tmp_path: Path) -> None:
    results = load_results(board_dirs)
    lb = build_leaderboard(results)
    out = tmp_path / "board"
    write_tables(lb, out)
    write_plots(lb, out / "plots")
    path = write_report(results, lb, out, n_examples=2)
    assert path == out / "report.html"
    html = path.read_text()
    parser = _Links()
    parser.feed(html)
    assert parser.links and len(parser.audio) >= 2 + 2 * 3  # mixtures, queries, references, estimates
    for link in parser.links:
        if link.startswith("#"):
            assert f'id="{link[1:]}"' in html
            continue
        assert not re.match(r"^[a-z][a-z0-9+.-]*:", link, re.I) and not link.startswith(("/", "\\")), link
        assert ".." not in Path(link).parts
        target = out / link
        assert target.is_file() and not target.is_symlink(), link
    assert "file:" not in html and "http" not in html and str(tmp_path) not in html
    assert "<script" not in html and "plots/class.png" in html
    copied = [p for p in (out / "audio").rglob("*.flac") if p.is_file()]
    assert len(copied) == len(set(parser.audio)) and all(not p.is_symlink() for p in copied)
    assert (out / "audio" / "test-000000_mixture.flac").is_file()
    assert (out / "audio" / "test-000000_1_query.flac").is_file()
    assert "a dog &lt;sound&gt; &amp; more" in html  # escaped query text
    assert 'class="unranked"' in html and "oracle bound" in html
    assert "test-000002" not in re.sub(r"<section id=\"provenance\">.*", "", html.split('id="examples"')[1])


def test_cli(board_dirs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    parser = argparse.ArgumentParser(prog="foabench")
    leaderboard_cli.register(parser.add_subparsers(dest="command", required=True))
    out = tmp_path / "board"
    args = parser.parse_args(["leaderboard", str(board_dirs[0].parent), "--out", str(out), "--examples", "1"])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "| 1 | sep-b |" in printed and f"report: {out / 'report.html'}" in printed
    for name in ("leaderboard.md", "leaderboard.csv", "leaderboard.json", "report.html", "plots/rt60.png"):
        assert (out / name).is_file()

    out2 = tmp_path / "board2"
    args = parser.parse_args(["leaderboard", *map(str, board_dirs[:2]), "--out", str(out2), "--no-plots",
                              "--no-report"])  # fmt: skip
    assert args.func(args) == 0
    assert (out2 / "leaderboard.csv").is_file() and not (out2 / "plots").exists()
    assert not (out2 / "report.html").exists()


def test_incomplete_or_inconsistent_results_are_refused_unless_allowed_and_then_marked(tmp_path: Path) -> None:
    r = tmp_path / "results"
    good = make_result(r, "sep-a", {"audio": 5.0, "text": 3.0})
    make_result(r, "sep-c", {"audio": 5.0, "text": 4.0}, summary=False)
    short = make_result(r, "short", {"audio": 2.0})
    prov = json.loads((short / "provenance.json").read_text())
    (short / "provenance.json").write_text(json.dumps({**prov, "expected_rows": 12, "run": "k1"}))
    rows = [json.loads(line) for line in (short / "rows.jsonl").read_text().splitlines()]
    rows = [{**row, "run": "k1" if i else "k0"} for i, row in enumerate(rows)]  # one row of another run
    (short / "rows.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(LeaderboardError) as info:
        load_results([r])
    message = str(info.value)
    assert "sep-c: no summary.json" in message and "short: 5 of 12 rows" in message
    assert "1 rows computed by another run" in message and "--allow-incomplete" in message
    results = load_results([r], allow_incomplete=True)
    names = sorted(x.name for x in results)
    assert names == ["sep-a", "sep-c (incomplete)", "short (incomplete)"]
    assert next(x for x in results if x.path == short).summary["rows"] == 4  # the foreign row is never scored
    lb = build_leaderboard(results)
    out = tmp_path / "board"
    write_tables(lb, out)
    write_plots(lb, out / "plots")
    html = write_report(results, lb, out).read_text()
    for text in ((out / "leaderboard.md").read_text(), (out / "leaderboard.csv").read_text(), html,
                 (out / "leaderboard.json").read_text()):  # fmt: skip
        assert "sep-c (incomplete)" in text and "short (incomplete)" in text
    assert build_leaderboard(load_results([good])).entries[0].name == "sep-a"


def test_a_leaderboard_folder_is_replaced_only_with_overwrite_and_keeps_nothing_stale(tmp_path: Path) -> None:
    a = make_result(tmp_path / "ra", "sep-a", {"audio": 5.0, "text": 3.0})
    b = make_result(tmp_path / "rb", "sep-b", {"audio": 1.0}, examples=1)
    out = tmp_path / "board"
    leaderboard_cli.run_leaderboard([a], out)
    first = sorted(p.relative_to(out) for p in out.rglob("*"))
    leaderboard_cli.run_leaderboard([a], out)  # the same inputs: rebuilt in place
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == first
    with pytest.raises(ValueError, match="holds a leaderboard of other results; pass --overwrite"):
        leaderboard_cli.run_leaderboard([b], out)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == first
    leaderboard_cli.run_leaderboard([b], out, overwrite=True)
    audio = sorted(p.name for p in (out / "audio").rglob("*.flac"))
    assert audio and all(name.startswith("test-000000") for name in audio)  # b's one example, none of a's
    assert "sep-a" not in (out / "leaderboard.md").read_text()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "paper.tex").write_text("x")
    with pytest.raises(ValueError, match="not a leaderboard folder"):
        leaderboard_cli.run_leaderboard([b], tmp_path / "mine", overwrite=True)


def test_training_column_tells_references_brief_runs_and_baselines_apart() -> None:
    def entry(spec: str, steps: int | None = None, seconds: float | None = None) -> Entry:
        return Entry(name=spec, section="ranked", rank=None, spec=spec, oracle=False, bound=False, uses=[],
                     parameters=None, metrics={}, train_steps=steps, train_seconds=seconds)  # fmt: skip

    assert entry("reference:bsast-tiny", 1600, 5400.0).training == "shipped reference, 1600 steps (1.5 h)"
    assert entry("bsast:runs/x", 60, 90.0).training == "60 steps (1.5 min)"
    assert entry("run:runs/x", 60).training == "60 steps"
    assert entry("max-re:query").training == "none"  # a training-free baseline
    assert entry("mine.py:Sep").training == "—"  # a user's separator that does not say
    assert MAIN_COLUMNS.index("training") < MAIN_COLUMNS.index("audio SI-SDR")


def test_paired_difference_matches_a_direct_computation() -> None:
    from foabench.benchmark.compare import paired_difference

    rng = np.random.default_rng(4)
    targets = [(f"m{i}", e) for i in range(30) for e in range(rng.integers(1, 4))]
    a = [{"mixture": m, "event": e, "query": "audio", "si_sdri": float(rng.normal(2, 3))} for m, e in targets]
    b = [{"mixture": m, "event": e, "query": "audio", "si_sdri": float(rng.normal(1, 3))} for m, e in targets[5:]]
    b.append({"mixture": "other", "event": 0, "query": "audio", "si_sdri": 50.0})  # not in A: left out
    b[0]["silent_reference"] = True  # unscored: left out
    got = paired_difference(a, b)
    common = {(r["mixture"], r["event"]): r["si_sdri"] for r in b[1:-1]}
    diffs = {k: r["si_sdri"] - common[k] for r in a if (k := (r["mixture"], r["event"])) in common}
    assert got["n"] == len(diffs) and got["mixtures"] == len({m for m, _ in diffs})
    assert got["mean"] == pytest.approx(np.mean(list(diffs.values())), abs=1e-3)
    # the interval resamples mixtures (their targets together): a second, loop-based bootstrap agrees
    by_mix: dict[str, list[float]] = {}
    for (m, _), d in diffs.items():
        by_mix.setdefault(m, []).append(d)
    groups = list(by_mix.values())
    picks = np.random.default_rng(0).integers(0, len(groups), size=(1000, len(groups)))
    means = [np.mean([d for i in pick for d in groups[i]]) for pick in picks]
    assert got["ci"] == pytest.approx(tuple(np.quantile(means, [0.025, 0.975])), abs=1e-3)
    with pytest.raises(ValueError, match="no scored target in common"):
        paired_difference(a[:3], b[-1:])
    with pytest.raises(ValueError, match="mixes query types"):
        paired_difference([*a, {**a[0], "query": "text"}], b)


def test_compare_cli_pairs_separators_and_query_types(tmp_path: Path, capsys) -> None:
    from foabench.benchmark.cli import main as cli

    r = tmp_path / "results"
    foa = make_result(r, "bsast-tiny", {"audio": 6.0, "text": 4.0}, model="bsast", config=bsast_config(4, 2))
    w = make_result(r, "bsast-w-tiny", {"audio": 3.0, "text": 2.5}, model="bsast-w", config=bsast_config(1, 2))
    assert cli(["compare", str(foa), str(w)]) == 0
    out = capsys.readouterr().out
    assert "bsast-tiny (audio) - bsast-w-tiny (audio): si_sdri +3.00 dB [+3.00, +3.00] over 5 targets" in out
    assert cli(["compare", str(foa), str(foa), "--query", "audio", "--query-b", "text"]) == 0
    assert "bsast-tiny (audio) - bsast-tiny (text): si_sdri +2.00 dB" in capsys.readouterr().out
    other = make_result(r, "elsewhere", {"audio": 1.0}, manifest_sha="b" * 64)
    assert cli(["compare", str(foa), str(other)]) != 0  # another manifest: not the same targets
