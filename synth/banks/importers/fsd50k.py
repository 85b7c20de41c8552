"""``foabench bank fsd50k ROOT``: FSD50K (Fonseca et al., 2022) as a source bank.

ROOT holds ``FSD50K.dev_audio/`` and ``FSD50K.eval_audio/`` (``<fname>.wav``), ``FSD50K.ground_truth/``
(``dev.csv`` ``fname,labels,mids,split``; ``eval.csv`` ``fname,labels,mids``; ``vocabulary.csv`` without
header, ``index,label,mid``) and ``FSD50K.metadata/`` (``{dev,eval}_clips_info_FSD50K.json``, per-clip
Freesound title, uploader and licence). Labels are kept as given (smeared up the AudioSet ontology, leaf
first); a clip with a label outside the vocabulary is skipped. Split groups follow the Freesound uploader,
as FSD50K's own dev/eval split does.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from foabench.synth.banks.builder import BankBuilder, BuildResult, ClipSource
from foabench.synth.banks.clip_rules import ClipRules
from foabench.synth.banks.importers.common import (
    AUDIO_SUFFIXES,
    find_audio,
    humanize_label,
    license_name,
    pair_rows_with_files,
)

SUBSETS = ("dev", "eval")
GROUND_TRUTH = "FSD50K.ground_truth"
METADATA = "FSD50K.metadata"
VOCABULARY = "vocabulary.csv"
COLUMNS = {"dev": ("fname", "labels", "mids", "split"), "eval": ("fname", "labels", "mids")}
MAX_TITLE_CHARS = 80


def _subsets(subset: str) -> tuple[str, ...]:
    if subset == "all":
        return SUBSETS
    if subset not in SUBSETS:
        raise ValueError(f"unknown FSD50K subset {subset!r}; choose dev, eval or all")
    return (subset,)


def _check_layout(root: Path, subsets: tuple[str, ...]) -> None:
    """Raise FileNotFoundError naming every ground-truth file or audio folder that is missing."""
    gt = root / GROUND_TRUTH
    needed = [gt / VOCABULARY] + [gt / f"{s}.csv" for s in subsets]
    missing = [str(p) for p in needed if not p.is_file()]
    missing += [str(root / f"FSD50K.{s}_audio") for s in subsets if not (root / f"FSD50K.{s}_audio").is_dir()]
    if missing:
        raise FileNotFoundError(f"{root} is not an FSD50K folder: missing {', '.join(missing)}")


def read_vocabulary(path: Path) -> dict[str, str]:
    """label -> mid from ``vocabulary.csv`` (no header: index,label,mid)."""
    table = pd.read_csv(path, header=None, names=["index", "label", "mid"], dtype=str, keep_default_na=False)
    return {row["label"].strip(): row["mid"].strip() for row in table.to_dict("records")}


def read_ground_truth(path: Path, subset: str) -> pd.DataFrame:
    """Read ``dev.csv`` / ``eval.csv`` as strings, checking the columns."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS[subset] if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; found {list(table.columns)}")
    return table


def read_clips_info(root: Path, subset: str) -> dict[str, dict]:
    """fname -> Freesound metadata; empty (with a note on stderr) when the metadata file is absent."""
    path = root / METADATA / f"{subset}_clips_info_FSD50K.json"
    if not path.is_file():
        print(f"fsd50k: {path} not found; {subset} clips get licence 'unknown'", file=sys.stderr)
        return {}
    with open(path, encoding="utf-8") as fh:
        info = json.load(fh)
    return {str(k): v for k, v in info.items()}


def _split_list(value: str) -> list[str]:
    return [x.strip() for x in value.split(",") if x.strip()]


def _short_title(info: dict) -> str:
    """The Freesound title without an audio suffix, or the description's first line; at most 80 chars."""
    title = str(info.get("title") or "").strip()
    if Path(title).suffix.lower() in AUDIO_SUFFIXES:
        title = title[: -len(Path(title).suffix)].strip()
    if not title:
        lines = str(info.get("description") or "").strip().splitlines()
        title = lines[0].strip() if lines else ""
    if len(title) > MAX_TITLE_CHARS:
        title = title[: MAX_TITLE_CHARS - 3].rstrip() + "..."
    return title


def make_caption(labels: list[str], info: dict) -> str:
    """'electric guitar: guitarras_63' — the leaf label, plus the Freesound title when it adds something."""
    leaf = humanize_label(labels[0])
    title = _short_title(info)
    if not title or title.lower() == leaf:
        return leaf
    return f"{leaf}: {title}"


def _source(
    fname: str, path: Path, subset: str, row: dict, labels: list[str], mids: list[str], info: dict | None
) -> ClipSource:
    uploader = str(info.get("uploader") or "").strip() if info else ""
    if info and uploader:
        title = str(info.get("title") or "").strip()
        attribution = f'"{title}" by {uploader} (Freesound {fname})'
        licence = license_name(str(info.get("license") or "")) or "unknown"
        group = f"fsd50k-uploader:{uploader}"
    else:
        attribution = f"Freesound {fname} (FSD50K, no clip metadata)"
        licence = "unknown"
        group = f"fsd50k:{fname}"
    return ClipSource(
        key=f"fsd50k/{subset}/{fname}",
        rel_path=f"fsd50k/{subset}/{fname}",
        labels=labels,
        caption=make_caption(labels, info or {}),
        license=licence,
        attribution=attribution,
        split_group=group,
        path=str(path),
        extra={
            "dataset": "FSD50K",
            "subset": subset,
            "fsd50k_split": row["split"].strip() if subset == "dev" else "eval",
            "fname": fname,
            "mids": mids,
        },
    )


def _add_subset(builder: BankBuilder, root: Path, subset: str, vocabulary: dict[str, str]) -> None:
    """Queue every labelled clip of one subset, reporting rows without audio and audio without rows."""
    csv_path = root / GROUND_TRUTH / f"{subset}.csv"
    audio_dir = root / f"FSD50K.{subset}_audio"
    info = read_clips_info(root, subset)
    files = {p.relative_to(audio_dir).with_suffix("").as_posix(): p for p in find_audio(audio_dir)}
    table = read_ground_truth(csv_path, subset).to_dict("records")
    matched = pair_rows_with_files(builder, csv_path, table, "fname", files, lambda f: audio_dir / f"{f}.wav")
    for fname, path, row in matched:
        labels, mids = _split_list(row["labels"]), _split_list(row["mids"])
        if not labels:
            builder.skip(str(path), "missing_label", f"empty labels in {csv_path}")
            continue
        unknown = [label for label in labels if label not in vocabulary]
        if unknown:
            builder.skip(str(path), "unknown_label", f"{unknown} not in {root / GROUND_TRUTH / VOCABULARY}")
            continue
        if len(mids) != len(labels):
            builder.skip(str(path), "bad_label_row", f"{len(labels)} labels but {len(mids)} mids in {csv_path}")
            continue
        builder.add(_source(fname, path, subset, row, labels, mids, info.get(fname)))


def import_fsd50k(
    root: str | Path,
    out: str | Path,
    *,
    subset: str = "all",
    rules: ClipRules | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> BuildResult:
    """Import FSD50K's dev and/or eval clips (``subset`` dev, eval or all) into a bank at ``out``."""
    root = Path(root)
    subsets = _subsets(subset)
    _check_layout(root, subsets)
    vocabulary = read_vocabulary(root / GROUND_TRUTH / VOCABULARY)
    name = "fsd50k" if subset == "all" else f"fsd50k-{subset}"
    builder = BankBuilder(
        out,
        name,
        rules or ClipRules(),
        description=f"FSD50K ({', '.join(subsets)}) imported from {root}",
        source_root=root,
    )
    for s in subsets:
        _add_subset(builder, root, s, vocabulary)
    return builder.build(workers=workers, progress=progress)
