"""Write a foabench split as a DCASE Task 4 test folder: mixtures, oracle targets and metadata.

``export_dcase_layout(manifest, banks, out, layout)`` renders every row of the manifest and writes

- ``out/soundscape/NAME.wav`` — the 4-channel AmbiX mixture, 32-bit float WAV (exactly the rendered samples);
- ``out/oracle_target/NAME_LABEL.wav`` (2025) or ``NAME_N_LABEL.wav`` (2026) — each target's ``direct``
  reference (DCASE's "dry" oracle target: the source through the RIR's first channel windowed around the
  direct path), mono float WAV;
- ``out/metadata/NAME.json`` — the DCASE metadata of the mixture (:func:`foabench.manifests.dcase_export.row_to_dcase`)
  plus ``foabench_row``, the manifest row itself, so ``foabench eval --dcase`` reads back the recorded queries
  and directions and scores exactly what the manifest scores;
- ``out/foabench_dcase.json`` — the layout, the manifest (path, rows sha256, split), the reference and the names.

``NAME`` is the row id. Float WAV keeps the export lossless: evaluating the folder gives the figures the manifest
gives. The DCASE loaders read it with ``librosa.load`` unchanged (their label list must hold foabench's classes).

Resumable: a mixture is finished when its metadata file exists (written last, atomically, after its audio);
a rerun skips finished mixtures and refuses a folder exported from another manifest or in another layout.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from foabench.manifests.dcase_export import row_to_dcase, safe_file_stem, verified_noise_labels
from foabench.manifests.dcase_layout import (
    METADATA,
    ORACLE_TARGET,
    RECORD,
    SOUNDSCAPE,
    LayoutError,
    check_layout,
    target_file_names,
)
from foabench.manifests.refs import open_bank_set
from foabench.synth.audio_io import atomic_write_text, sha256_file, write_audio_atomic
from foabench.synth.banks.bank_set import BankSet
from foabench.synth.scenes.manifest import read_manifest

REFERENCE = "direct"


def export_record(manifest, layout: str) -> dict:
    """What ``foabench_dcase.json`` says of an export (compared when an export resumes)."""
    return {"layout": layout, "reference": REFERENCE, "manifest": manifest.rows_path.name,
            "rows_sha256": sha256_file(manifest.rows_path), "split": manifest.header.get("split"),
            "num_rows": len(manifest.rows),
            "sample_rate": int(manifest.rows[0]["sample_rate"]) if manifest.rows else None,
            "audio": {"subtype": "FLOAT", "mixture_channels": "AmbiX W, Y, Z, X (SN3D)"}}  # fmt: skip


def _check_resume(out: Path, record: dict) -> None:
    path = out / RECORD
    if not path.is_file():
        return
    old = json.loads(path.read_text(encoding="utf-8"))
    diffs = [k for k in ("layout", "reference", "rows_sha256") if old.get(k) != record[k]]
    if diffs:
        changes = ", ".join(f"{k}: {old.get(k)} -> {record[k]}" for k in diffs)
        raise LayoutError(f"{out} holds a DCASE export of another computation ({changes}); choose another --out")


def export_dcase_layout(manifest_path: str | Path, banks: Sequence[str | Path] | BankSet, out: str | Path,
                        layout: str = "2026", progress: bool = True) -> dict:  # fmt: skip
    """Render the manifest into a DCASE test folder at ``out`` (see the module docstring); returns
    ``{"written": n, "skipped": n, "targets": n}``. Every input is verified against ``banks``."""
    from tqdm import tqdm

    from foabench.synth.scenes.render import Renderer

    check_layout(layout)
    manifest = read_manifest(manifest_path)
    bank_set = open_bank_set(banks)
    if bank_set is None:
        raise ValueError("rendering the mixtures needs the banks (--banks)")
    noise_labels = verified_noise_labels(manifest, bank_set)
    names = [safe_file_stem(str(row["id"]), str(manifest.rows_path)) for row in manifest.rows]
    if len(set(names)) < len(names):
        raise LayoutError(f"{manifest.rows_path}: row ids used twice")
    # every file name is checked (labels, 2025 duplicates) before anything is written
    files = {n: target_file_names(n, [e["label"] for e in row["events"] if e["role"] == "target"], layout)
             for n, row in zip(names, manifest.rows, strict=True)}  # fmt: skip
    out = Path(out)
    record = export_record(manifest, layout)
    _check_resume(out, record)
    for sub in (SOUNDSCAPE, ORACLE_TARGET, METADATA):
        (out / sub).mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / RECORD, json.dumps(record, indent=2) + "\n")
    renderer = Renderer(bank_set)
    counts = {"written": 0, "skipped": 0, "targets": 0}
    for name, row in tqdm(list(zip(names, manifest.rows, strict=True)), desc=f"export-dcase {layout}", unit="mix",
                          disable=not progress):  # fmt: skip
        noise = row["noise"]
        labels = noise_labels.get((noise["bank"], noise["path"]), []) if noise is not None else []
        meta = row_to_dcase(row, manifest.rows_path.name, str(manifest.split), labels)
        meta["foabench_row"] = row
        text = json.dumps(meta, indent=2, ensure_ascii=False) + "\n"
        meta_path = out / METADATA / f"{name}.json"
        counts["targets"] += len(files[name])
        if meta_path.is_file() and meta_path.read_text(encoding="utf-8") == text:
            counts["skipped"] += 1
            continue
        rendered = renderer.render(row)
        sr = rendered.sample_rate
        write_audio_atomic(out / SOUNDSCAPE / f"{name}.wav", rendered.mixture, sr, subtype="FLOAT")
        for file_name, refs in zip(files[name], rendered.references, strict=True):
            write_audio_atomic(out / ORACLE_TARGET / file_name, refs[REFERENCE], sr, subtype="FLOAT")
        atomic_write_text(meta_path, text)
        counts["written"] += 1
    return counts
