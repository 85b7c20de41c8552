"""``foabench bank dcase2025 ROOT``: the DCASE 2025 Task 4 development set's sound events as a source bank.

ROOT is the ``dev_set`` folder: ``sound_event/{train,valid}/<Label>/*.wav`` (the 18 target classes, mono
32 kHz), ``interference/{train,valid}/<AudioSet class>/*.wav``, ``noise/{train,valid}/*.wav`` (4-channel
FOA background) and ``room_ir/{train,valid}/*.sofa``. Target and interference clips become sources (``role``
in ``extra``); files below the label folder are not read by the official tooling and are reported as
skips. Noise and room impulse responses are counted here and imported by the noise/RIR bank importers
(the rooms by ``foabench bank dcase2025-rooms``, :func:`foabench.synth.rooms.importers.sofa.import_dcase2025_rooms`).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from foabench.synth.banks.builder import BankBuilder, BuildResult, ClipSource
from foabench.synth.banks.clip_rules import ClipRules
from foabench.synth.banks.importers.common import caption_from_labels, find_audio

SPLITS = ("train", "valid")
ROLES = {"sound_event": "target", "interference": "interference"}
TARGET_CLASSES = (
    "AlarmClock",
    "BicycleBell",
    "Blender",
    "Buzzer",
    "Clapping",
    "Cough",
    "CupboardOpenClose",
    "Dishes",
    "Doorbell",
    "FootSteps",
    "HairDryer",
    "MechanicalFans",
    "MusicalKeyboard",
    "Percussion",
    "Pour",
    "Speech",
    "Typing",
    "VacuumCleaner",
)
LICENSE = "DCASE2025-Task4-dev (per-clip licences in the dataset's LICENSE file)"
ATTRIBUTION = "DCASE 2025 Challenge Task 4 development set"

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def split_camel_case(label: str) -> str:
    """'AlarmClock' -> 'Alarm Clock'; labels with spaces ('Crumpling, crinkling') are left as they are."""
    return _CAMEL.sub(" ", label)


def caption_for(label: str) -> str:
    """'AlarmClock' -> 'the sound of alarm clock'."""
    return caption_from_labels([split_camel_case(label)])


def _splits(split: str) -> tuple[str, ...]:
    if split == "all":
        return SPLITS
    if split not in SPLITS:
        raise ValueError(f"unknown DCASE 2025 Task 4 split {split!r}; choose train, valid or all")
    return (split,)


def _report_noise_and_rirs(root: Path, splits: tuple[str, ...]) -> None:
    """One stderr line counting the noise clips and SOFA room impulse responses that are not imported here."""
    noise = sum(len(find_audio(root / "noise" / s)) for s in splits if (root / "noise" / s).is_dir())
    rirs = sum(
        sum(1 for p in (root / "room_ir" / s).rglob("*") if p.is_file() and p.suffix.lower() == ".sofa")
        for s in splits
        if (root / "room_ir" / s).is_dir()
    )
    print(
        f"dcase2025: found {noise} noise file(s) and {rirs} room_ir SOFA file(s) ({'/'.join(splits)}); "
        "they are not sources and are imported by the noise/RIR bank importers",
        file=sys.stderr,
    )


def _add_folder(builder: BankBuilder, folder: Path, role: str, split: str) -> None:
    """Queue the clips of ``<folder>/<Label>/*``, skipping files anywhere else below ``folder``."""
    stems: dict[str, str] = {}
    for path in find_audio(folder):
        parts = path.relative_to(folder).parts
        if len(parts) != 2:
            where = "directly in the split folder" if len(parts) == 1 else f"below the label folder {parts[0]!r}"
            builder.skip(
                str(path),
                "unexpected_location",
                f"{where}; the official tooling reads only {folder}/<label>/<clip>",
            )
            continue
        label = parts[0]
        if role == "target" and label not in TARGET_CLASSES:
            builder.skip(str(path), "unknown_label", f"{label!r} is not one of the 18 DCASE 2025 Task 4 target classes")
            continue
        rel_path = f"dcase2025/{role}/{split}/{label}/{path.stem}"
        if rel_path in stems:
            builder.skip(str(path), "name_clash", f"same name without suffix as {stems[rel_path]}")
            continue
        stems[rel_path] = str(path)
        builder.add(
            ClipSource(
                key=rel_path,
                rel_path=rel_path,
                labels=[label],
                caption=caption_for(label),
                license=LICENSE,
                attribution=ATTRIBUTION,
                split_group=f"dcase2025:{split}:{label}/{path.stem}",
                path=str(path),
                extra={"dataset": "DCASE2025T4", "split": split, "role": role},
            )
        )


def import_dcase2025(
    root: str | Path,
    out: str | Path,
    *,
    split: str = "all",
    rules: ClipRules | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> BuildResult:
    """Import the target and interference clips of the DCASE 2025 Task 4 dev set (``split`` train, valid or
    all) into a bank at ``out``."""
    root = Path(root)
    splits = _splits(split)
    missing = [str(root / "sound_event" / s) for s in splits if not (root / "sound_event" / s).is_dir()]
    if missing:
        raise FileNotFoundError(f"{root} is not a DCASE 2025 Task 4 dev_set folder: missing {', '.join(missing)}")
    name = "dcase2025-task4" if split == "all" else f"dcase2025-task4-{split}"
    builder = BankBuilder(
        out,
        name,
        rules or ClipRules(),
        description=f"DCASE 2025 Task 4 dev set ({', '.join(splits)}) from {root}",
        source_root=root,
    )
    for folder_name, role in ROLES.items():
        for s in splits:
            folder = root / folder_name / s
            if folder.is_dir():
                _add_folder(builder, folder, role, s)
            else:
                print(f"dcase2025: {folder} not found; no {role} clips from the {s} split", file=sys.stderr)
    _report_noise_and_rirs(root, splits)
    return builder.build(workers=workers, progress=progress)
