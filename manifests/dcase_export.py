"""Export a manifest as DCASE 2025 Task 4 (SpatialScaper-style) metadata: one JSON per mixture, and read it back.

Each mixture becomes ``DIR/<row id>.json``::

    {"config": {"duration": s, "sr": Hz, "ref_db": noise dBFS or null,
                "foabench_manifest": file name, "foabench_split": split, "foabench_id": row id},
     "fg_events": [targets], "int_events": [interferers], "bg_events": [noise] or [],
     "room": room id}

An event is ``{"label", "source_file": "<bank>/<path>", "source_time", "event_time", "event_duration",
"event_position": [[x, y, z]], "snr", "role", "pitch_shift": null, "time_stretch": null}`` with times in
seconds and the position in metres relative to the microphone in foabench axes (x front, y left, z up);
targets and interferers both have role ``foreground``, as in SpatialScaper. A row without a distance gets a
unit vector. The background event names the noise clip, its offset, the mixture duration and the noise level
(dBFS) as its ``snr``, with no position.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from foabench.manifests.refs import iter_refs, open_bank_set, records_by_path
from foabench.synth.audio_io import atomic_write_text
from foabench.synth.banks.bank_set import BankSet
from foabench.synth.foa import direction_of, unit_vector
from foabench.synth.scenes.manifest import Manifest, ManifestError, read_manifest

ROLE_LISTS = {"target": "fg_events", "interference": "int_events"}
NOISE_LABEL_SEPARATOR = ";"


def _source_file(ref: dict) -> str:
    return f"{ref['bank']}/{ref['path']}"


def _position(event: dict, where: str) -> list[list[float]]:
    """``[[x, y, z]]`` in metres from the event's azimuth, elevation and distance (None: unit distance)."""
    try:
        az, el = float(event["azimuth"]), float(event["elevation"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ManifestError(f"{where}: an event needs numeric azimuth and elevation to export ({exc})") from exc
    distance = event.get("distance")
    xyz = unit_vector(az, el) * (1.0 if distance is None else float(distance))
    return [[float(v) for v in xyz]]


def _room_name(row: dict) -> str | None:
    """The row's room id: ``room.room``, a plain string room, else the first event's RIR group."""
    room = row.get("room")
    if isinstance(room, dict) and "room" in room:
        return str(room["room"])
    if isinstance(room, str):
        return room
    rirs = [r.ref.get("group") for r in iter_refs(row) if r.kind == "rir"]
    return str(rirs[0]) if rirs and rirs[0] is not None else None


def safe_file_stem(row_id: str, where: str) -> str:
    if not row_id or row_id in (".", "..") or any(c in row_id for c in "/\\\0"):
        raise ManifestError(f"{where}: row id {row_id!r} cannot name a metadata file")
    return row_id


def row_to_dcase(row: dict, manifest_name: str, split: str, noise_labels: Sequence[str] = ()) -> dict:
    """The DCASE metadata object of one (validated) manifest row; ``noise_labels`` name the background."""
    sr = int(row["sample_rate"])
    duration = row["num_frames"] / sr
    out: dict = {
        "config": {
            "duration": duration,
            "sr": sr,
            "ref_db": None if row["noise"] is None else float(row["noise"]["level_dbfs"]),
            "foabench_manifest": manifest_name,
            "foabench_split": split,
            "foabench_id": row["id"],
        },
        "fg_events": [],
        "int_events": [],
        "bg_events": [],
        "room": _room_name(row),
    }
    for k, event in enumerate(row["events"]):
        out[ROLE_LISTS[event["role"]]].append(
            {
                "label": event["label"],
                "source_file": _source_file(event["source"]),
                "source_time": event["source_offset"] / sr,
                "event_time": event["onset"] / sr,
                "event_duration": event["length"] / sr,
                "event_position": _position(event, f"row {row['id']} event {k}"),
                "snr": float(event["snr_db"]),
                "role": "foreground",
                "pitch_shift": None,
                "time_stretch": None,
            }
        )
    noise = row["noise"]
    if noise is not None:
        labels = list(noise_labels) or [str(x) for x in noise.get("labels", [])]
        out["bg_events"].append(
            {
                "label": NOISE_LABEL_SEPARATOR.join(labels) or "background",
                "source_file": _source_file(noise),
                "source_time": noise["offset"] / sr,
                "event_time": 0.0,
                "event_duration": duration,
                "event_position": None,
                "snr": float(noise["level_dbfs"]),
                "role": "background",
                "pitch_shift": None,
                "time_stretch": None,
            }
        )
    return out


def verified_noise_labels(manifest: Manifest, banks: BankSet | None) -> dict[tuple[str, str], list[str]]:
    """Verify every input of the rows against ``banks`` (fingerprints, files, sha256) and return the labels of
    each noise clip used, keyed by (bank, path); without banks, nothing is verified and no labels are known."""
    if banks is None:
        return {}
    banks.check_fingerprints(manifest.header["banks"], str(manifest.rows_path))
    index: dict[str, dict] = {}
    labels: dict[tuple[str, str], list[str]] = {}
    for row in manifest.rows:
        for r in iter_refs(row):
            banks.resolve(r.ref)
            if r.kind == "noise":
                bank = r.ref["bank"]
                if bank not in index:
                    index[bank] = records_by_path(banks.bank(bank))
                labels[(bank, r.ref["path"])] = list(getattr(index[bank].get(r.ref["path"]), "labels", []))
    return labels


def export_dcase(
    manifest_path: str | Path, out: str | Path, banks: Sequence[str | Path] | BankSet | None = None
) -> list[Path]:
    """Write ``out/<row id>.json`` for every row of the manifest; return the files written.

    With ``banks``, every input is verified (fingerprints, sha256) and noise labels come from the noise bank."""
    manifest = read_manifest(manifest_path)
    bank_set = open_bank_set(banks)
    labels = verified_noise_labels(manifest, bank_set)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stems = [safe_file_stem(str(row["id"]), str(manifest.rows_path)) for row in manifest.rows]
    dupes = sorted({s for s in stems if stems.count(s) > 1})
    if dupes:
        raise ManifestError(f"{manifest.rows_path}: row ids used twice: {dupes[:5]}")
    written = []
    for stem, row in zip(stems, manifest.rows, strict=True):
        noise = row["noise"]
        noise_labels = labels.get((noise["bank"], noise["path"]), []) if noise is not None else []
        meta = row_to_dcase(row, manifest.rows_path.name, str(manifest.split), noise_labels)
        path = out / f"{stem}.json"
        atomic_write_text(path, json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
        written.append(path)
    return written


def _split_source_file(source_file: str) -> tuple[str, str]:
    bank, _, path = source_file.partition("/")
    return bank, path


def _imported_event(meta: dict, role: str, event: dict) -> dict:
    bank, path = _split_source_file(event["source_file"])
    item = {
        "id": meta["config"].get("foabench_id"),
        "role": role,
        "label": event["label"],
        "bank": bank,
        "path": path,
        "source_offset_s": event["source_time"],
        "onset_s": event["event_time"],
        "duration_s": event["event_duration"],
        "snr_db": event["snr"],
        "azimuth": None,
        "elevation": None,
        "distance": None,
    }
    if event.get("event_position"):
        az, el, r = direction_of(event["event_position"][0])
        item.update(azimuth=float(az), elevation=float(el), distance=float(r))
    return item


def import_dcase_metadata(folder: str | Path) -> list[dict]:
    """Read a folder of DCASE metadata JSON files back into a flat event list, sorted by file name.

    Each item: ``id`` (config ``foabench_id``), ``role`` (``target`` / ``interference`` / ``noise``),
    ``label``, ``bank``, ``path``, ``source_offset_s``, ``onset_s``, ``duration_s``, ``snr_db`` (the noise
    level for the background) and ``azimuth``, ``elevation`` (degrees), ``distance`` (m) — None for noise."""
    events = []
    for path in sorted(Path(folder).glob("*.json")):
        meta = json.loads(path.read_text(encoding="utf-8"))
        for role, key in (("target", "fg_events"), ("interference", "int_events"), ("noise", "bg_events")):
            events += [_imported_event(meta, role, ev) for ev in meta.get(key, [])]
    return events
