"""``foabench bank index DIR --labels CSV``: any folder of clips plus a label CSV.

The CSV needs the columns ``path`` (relative to DIR) and ``labels`` (several separated by ``;``); it may add
``caption``, ``license``, ``attribution`` and ``group`` (the split group; by default each file is its own
group). Files without a label row and label rows without a file are reported and skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from foabench.synth.banks.builder import BankBuilder, BuildResult, ClipSource
from foabench.synth.banks.clip_rules import ClipRules
from foabench.synth.banks.importers.common import (
    SkipReporter,
    caption_from_labels,
    find_audio,
    pair_rows_with_files,
    stored_stem,
)

REQUIRED_COLUMNS = ("path", "labels")


def read_label_csv(csv_path: Path) -> pd.DataFrame:
    """Read and validate a label CSV (string columns, no NaN)."""
    if not csv_path.is_file():
        raise FileNotFoundError(f"label CSV {csv_path} does not exist")
    table = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{csv_path}: missing column(s) {missing}; found {list(table.columns)}")
    return table


@dataclass
class LabelledFile:
    """One audio file of an imported folder with its label-CSV row, defaults filled in."""

    rel: str  # path relative to the folder (the label CSV's ``path``)
    path: Path
    stem: str  # stored bank path without suffix
    labels: list[str]
    caption: str
    license: str
    attribution: str
    group: str
    row: dict


def labelled_files(
    folder: Path,
    labels_csv: Path,
    reporter: SkipReporter,
    *,
    default_license: str = "unknown",
    default_attribution: str = "",
) -> list[LabelledFile]:
    """The audio files of ``folder`` paired with their label rows, in path order.

    Unlabelled files, rows without a file, empty labels and stored-name clashes go to ``reporter.skip``."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a directory")
    table = read_label_csv(labels_csv)
    files = {p.relative_to(folder).as_posix(): p for p in find_audio(folder)}
    stems: dict[str, str] = {}
    out = []
    matched = pair_rows_with_files(
        reporter, labels_csv, table.to_dict("records"), "path", files, lambda rel: folder / rel
    )
    for rel, path, row in matched:
        labels = [x.strip() for x in row["labels"].split(";") if x.strip()]
        if not labels:
            reporter.skip(str(path), "missing_label", f"empty labels in {labels_csv}")
            continue
        stem = stored_stem(rel)
        if stem in stems:
            reporter.skip(str(path), "name_clash", f"same name without suffix as {stems[stem]}")
            continue
        stems[stem] = rel
        out.append(
            LabelledFile(
                rel=rel,
                path=path,
                stem=stem,
                labels=labels,
                caption=row.get("caption", "").strip() or caption_from_labels(labels),
                license=row.get("license", "").strip() or default_license,
                attribution=row.get("attribution", "").strip() or default_attribution,
                group=row.get("group", "").strip() or rel,
                row=row,
            )
        )
    return out


def import_folder(
    folder: str | Path,
    labels_csv: str | Path,
    out: str | Path,
    *,
    name: str | None = None,
    rules: ClipRules | None = None,
    default_license: str = "unknown",
    default_attribution: str = "",
    workers: int | None = None,
    progress: bool = True,
) -> BuildResult:
    """Import every labelled clip of ``folder`` into a bank at ``out``."""
    folder = Path(folder)
    builder = BankBuilder(
        out,
        name or folder.name,
        rules or ClipRules(),
        description=f"imported from {folder} with labels {labels_csv}",
        source_root=folder,
    )
    for f in labelled_files(
        folder, Path(labels_csv), builder, default_license=default_license, default_attribution=default_attribution
    ):
        builder.add(
            ClipSource(
                key=f.rel,
                rel_path=f.stem,
                labels=f.labels,
                caption=f.caption,
                license=f.license,
                attribution=f.attribution,
                split_group=f.group,
                path=str(f.path),
            )
        )
    return builder.build(workers=workers, progress=progress)
