"""``foabench bank esc50 ROOT``: ESC-50 (K. J. Piczak, 2015) as a source bank.

ROOT holds ``meta/esc50.csv`` (``filename,fold,target,category,esc10,src_file,take``) and ``audio/``. Each
clip has one label, its category. Clips cut from the same Freesound recording (``src_file``, several
``take``s) share a split group, so they never land on both sides of a split.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from foabench.synth.banks.builder import BankBuilder, BuildResult, ClipSource
from foabench.synth.banks.clip_rules import ClipRules
from foabench.synth.banks.importers.common import caption_from_labels, find_audio, pair_rows_with_files

COLUMNS = ("filename", "fold", "target", "category", "esc10", "src_file", "take")
LICENSE = "CC-BY-NC-3.0"

# How each ESC-50 category reads after "the sound of ".
PHRASES = {
    "dog": "a dog",
    "rooster": "a rooster",
    "pig": "a pig",
    "cow": "a cow",
    "frog": "a frog",
    "cat": "a cat",
    "hen": "a hen",
    "insects": "insects",
    "sheep": "a sheep",
    "crow": "a crow",
    "rain": "rain",
    "sea_waves": "sea waves",
    "crackling_fire": "a crackling fire",
    "crickets": "crickets",
    "chirping_birds": "chirping birds",
    "water_drops": "water drops",
    "wind": "wind",
    "pouring_water": "pouring water",
    "toilet_flush": "a toilet flush",
    "thunderstorm": "a thunderstorm",
    "crying_baby": "a crying baby",
    "sneezing": "sneezing",
    "clapping": "clapping",
    "breathing": "breathing",
    "coughing": "coughing",
    "footsteps": "footsteps",
    "laughing": "laughing",
    "brushing_teeth": "brushing teeth",
    "snoring": "snoring",
    "drinking_sipping": "drinking and sipping",
    "door_wood_knock": "a knock on a wooden door",
    "mouse_click": "a mouse click",
    "keyboard_typing": "typing on a keyboard",
    "door_wood_creaks": "a creaking wooden door",
    "can_opening": "a can opening",
    "washing_machine": "a washing machine",
    "vacuum_cleaner": "a vacuum cleaner",
    "clock_alarm": "an alarm clock",
    "clock_tick": "a ticking clock",
    "glass_breaking": "glass breaking",
    "helicopter": "a helicopter",
    "chainsaw": "a chainsaw",
    "siren": "a siren",
    "car_horn": "a car horn",
    "engine": "an engine",
    "train": "a train",
    "church_bells": "church bells",
    "airplane": "an airplane",
    "fireworks": "fireworks",
    "hand_saw": "a hand saw",
}


def caption_for(category: str) -> str:
    """'dog' -> 'the sound of a dog'; categories outside ESC-50's 50 fall back to the plain caption."""
    phrase = PHRASES.get(category)
    return f"the sound of {phrase}" if phrase else caption_from_labels([category])


def read_meta(path: Path) -> pd.DataFrame:
    """Read and validate ``meta/esc50.csv`` (string columns, no NaN)."""
    if not path.is_file():
        raise FileNotFoundError(f"ESC-50 metadata {path} does not exist")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; found {list(table.columns)}")
    return table


def _extra(row: dict) -> dict:
    """The ESC-50 fields kept per clip; raises ValueError on a malformed fold or esc10 value."""
    esc10 = row["esc10"].strip()
    if esc10 not in ("True", "False"):
        raise ValueError(f"esc10 is {esc10!r}, expected True or False")
    return {
        "dataset": "ESC-50",
        "fold": int(row["fold"]),
        "esc10": esc10 == "True",
        "take": row["take"].strip(),
    }


def import_esc50(
    root: str | Path,
    out: str | Path,
    *,
    rules: ClipRules | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> BuildResult:
    """Import every labelled ESC-50 clip into a bank at ``out``."""
    root = Path(root)
    meta_path = root / "meta" / "esc50.csv"
    audio_dir = root / "audio"
    table = read_meta(meta_path)
    if not audio_dir.is_dir():
        raise FileNotFoundError(f"ESC-50 audio folder {audio_dir} does not exist")
    builder = BankBuilder(
        out, "esc50", rules or ClipRules(), description=f"ESC-50 imported from {root}", source_root=root
    )
    files = {p.relative_to(audio_dir).as_posix(): p for p in find_audio(audio_dir)}
    stems: dict[str, str] = {}
    matched = pair_rows_with_files(
        builder, meta_path, table.to_dict("records"), "filename", files, lambda name: audio_dir / name
    )
    for filename, path, row in matched:
        category = row["category"].strip()
        if not category:
            builder.skip(str(path), "missing_label", f"empty category in {meta_path}")
            continue
        try:
            extra = _extra(row)
        except ValueError as exc:
            builder.skip(str(path), "bad_label_row", f"{meta_path}: {exc}")
            continue
        if path.stem in stems:
            builder.skip(str(path), "name_clash", f"same name without suffix as {stems[path.stem]}")
            continue
        stems[path.stem] = filename
        src_file = row["src_file"].strip()
        builder.add(
            ClipSource(
                key=filename,
                rel_path=f"esc50/{path.stem}",
                labels=[category],
                caption=caption_for(category),
                license=LICENSE,
                attribution=f"ESC-50 (K. J. Piczak), from Freesound clip {src_file}",
                split_group=f"esc50:freesound:{src_file}",
                path=str(path),
                extra=extra,
            )
        )
    return builder.build(workers=workers, progress=progress)
