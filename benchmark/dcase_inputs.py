"""Evaluation inputs from a DCASE Task 4 test folder as it is shipped (``foabench eval --dcase DIR``).

The folder (:mod:`foabench.manifests.dcase_layout`) gives the mixtures (``soundscape/NAME.wav``) and the oracle
targets (``oracle_target/NAME_LABEL.wav`` or ``NAME_N_LABEL.wav``); no bank is needed. Each mixture becomes one
row whose targets are its oracle target files:

- a folder written by ``foabench manifests export-dcase --layout`` carries ``metadata/NAME.json`` with the
  manifest row it was rendered from: that row is used as it is (its recorded text and audio queries, its
  directions for oracle beamformers, its SNRs), so the folder scores exactly what the manifest scores;
- a folder without it (the real DCASE data) gets the text query of each class's name
  (:func:`foabench.synth.scenes.query_plan.class_phrase`), and, with ``--query-bank``, an audio query drawn from
  that source bank's clips of the class (the same clip for the same mixture, target and class on every run).

The class-aware metric follows the layout: CA-SDRi for 2025, CAPI-SDRi for 2026.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import soundfile as sf

from foabench.benchmark.eval_inputs import EvalInputs, InputsError
from foabench.manifests.dcase_layout import (
    METADATA,
    ORACLE_TARGET,
    RECORD,
    SOUNDSCAPE,
    LayoutError,
    TargetFile,
    check_layout,
    find_test_folder,
    guess_layout,
    parse_target_files,
)
from foabench.synth.audio_io import read_audio, sha256_file
from foabench.synth.banks.bank_set import BankSet, InputError
from foabench.synth.scenes.query_plan import class_phrase

CLASS_RULES = {"2025": "ca_sdri", "2026": "capi_sdri"}


def _folder_hash(folder: Path, names: list[str], targets: dict[str, list[TargetFile]]) -> str:
    """sha256 over the names and contents of every file the evaluation reads (mixtures, targets, metadata)."""
    h = hashlib.sha256()
    paths = [folder / SOUNDSCAPE / f"{n}.wav" for n in names] + [f.path for n in names for f in targets[n]]
    paths += sorted((folder / METADATA).glob("*.json")) if (folder / METADATA).is_dir() else []
    for p in paths:
        h.update(f"{p.relative_to(folder).as_posix()}\0{sha256_file(p)}\n".encode())
    return h.hexdigest()


def _pick(options: list, *key: object) -> object:
    """One of ``options`` chosen by a hash of ``key``: the same on every run and machine."""
    digest = hashlib.sha256("/".join(map(str, key)).encode()).digest()
    return options[int.from_bytes(digest[:8], "big") % len(options)]


class DcaseInputs(EvalInputs):
    """A DCASE test folder: mixtures and oracle targets from WAV files, queries recorded or from class names."""

    def __init__(self, path: str | Path, layout: str | None = None, query_bank: list[str] | None = None,
                 audio_queries: bool = True):  # fmt: skip
        folder = find_test_folder(path)
        names = sorted(p.stem for p in (folder / SOUNDSCAPE).glob("*.wav"))
        if not names:
            raise InputsError(f"{folder / SOUNDSCAPE}: no mixtures (*.wav)")
        target_dir = folder / ORACLE_TARGET
        if not target_dir.is_dir():
            raise InputsError(f"{folder}: no {ORACLE_TARGET}/ folder: a DCASE test folder needs its oracle targets")
        try:
            targets = parse_target_files(target_dir, names)
            self.layout = check_layout(layout) if layout else guess_layout(folder, targets)
        except LayoutError as exc:
            raise InputsError(str(exc)) from exc
        self.folder, self.targets = folder, targets
        self.class_rule = CLASS_RULES[self.layout]
        self.bank_set = BankSet.open(query_bank) if query_bank else None
        record = json.loads((folder / RECORD).read_text(encoding="utf-8")) if (folder / RECORD).is_file() else {}
        rows = [self._row(n) for n in names]
        if audio_queries:
            self._check_audio_queries(rows)
        manifest = {"path": str(folder), "rows_sha256": _folder_hash(folder, names, targets), "layout": self.layout,
                    "split": record.get("split") or folder.name, "num_rows": len(rows)}  # fmt: skip
        banks = {n: b.fingerprint for n, b in sorted(self.bank_set.banks.items())} if self.bank_set else {}
        super().__init__(rows, manifest, banks, None, f"dcase {self.layout} folder")

    # ---------------------------------------------------------------------------------------------- rows

    def _row(self, name: str) -> dict:
        info = sf.info(str(self.folder / SOUNDSCAPE / f"{name}.wav"))
        files = self.targets[name]
        meta_path = self.folder / METADATA / f"{name}.json"
        if meta_path.is_file():
            row = json.loads(meta_path.read_text(encoding="utf-8")).get("foabench_row")
            if row is not None:
                return self._recorded_row(name, row, files, info)
        events = []
        for k, f in enumerate(files):
            query = {"text": class_phrase(f.label, 0), "text_source": "template",
                     "audio": self._query_clip_ref(name, k, f.label)}  # fmt: skip
            events.append({"role": "target", "label": f.label, "query": query, "source": None,
                           "azimuth": None, "elevation": None, "snr_db": None})  # fmt: skip
        return {"id": name, "sample_rate": int(info.samplerate), "num_frames": int(info.frames), "room": None,
                "noise": None, "events": events}  # fmt: skip

    def _recorded_row(self, name: str, row: dict, files: list[TargetFile], info) -> dict:
        """The manifest row of an exported mixture, checked against the files, with its target files in order."""
        where = self.folder / METADATA / f"{name}.json"
        labels = [e["label"] for e in row.get("events", []) if e.get("role") == "target"]
        if row.get("id") != name or int(row.get("sample_rate", -1)) != info.samplerate:
            raise InputsError(f"{where}: its foabench row is {row.get('id')!r} at {row.get('sample_rate')} Hz, the "
                              f"mixture file is {name} at {info.samplerate} Hz")  # fmt: skip
        if sorted(labels) != sorted(f.label for f in files):
            raise InputsError(f"{where}: the row's targets are {labels}, {ORACLE_TARGET}/ holds "
                              f"{[f.label for f in files]} for {name}")  # fmt: skip
        if any(f.index is None for f in files):  # NAME_LABEL.wav: one target per class, matched by label
            by_label = {f.label: f for f in files}
            self.targets[name] = [by_label[label] for label in labels]
        elif [f.label for f in files] != labels:
            raise InputsError(f"{where}: numbered target files {[f.path.name for f in files]} are not in the row's "
                              f"target order {labels}")  # fmt: skip
        return row

    def _query_clip_ref(self, name: str, target: int, label: str) -> dict | None:
        """The query bank's clip for one target (by a hash of mixture, target and class), or None."""
        if self.bank_set is None:
            return None
        clips = sorted((bank.name, rec.path, rec.sha256) for bank in self.bank_set.banks.values()
                       if bank.kind == "sources" for rec in bank.records if label in rec.labels)  # fmt: skip
        if not clips:
            return None
        bank, path, sha = _pick(clips, name, target, label)
        return {"bank": bank, "path": path, "sha256": sha}

    def _check_audio_queries(self, rows: list[dict]) -> None:
        """Every target has an audio query clip and there is a bank to read it from, else a clear error."""
        missing = sorted({e["label"] for r in rows for e in r["events"]
                          if e["role"] == "target" and not (e["query"].get("audio") or e.get("source"))})  # fmt: skip
        if self.bank_set is None:
            what = "clips of the banks it was exported from" if not missing else "clips of a source bank of its classes"
            raise InputsError(f"{self.folder}: its audio queries need {what} (--query-bank BANK), or score text "
                              "queries only (--query text)")  # fmt: skip
        if missing:
            raise InputsError(f"{self.folder}: the query bank has no clip of class(es) {', '.join(missing)}; pass "
                              "a bank that has them, or score text queries only (--query text)")  # fmt: skip

    # ---------------------------------------------------------------------------------------------- audio

    def mixture(self, row: dict, reference: str) -> tuple[np.ndarray, list[np.ndarray]]:
        if reference != "direct":
            raise InputsError(f"{self.folder}: a DCASE folder holds the oracle (direct) targets only, not "
                              f"{reference!r} references")  # fmt: skip
        name, sr = row["id"], int(row["sample_rate"])
        mixture, rate = read_audio(self.folder / SOUNDSCAPE / f"{name}.wav")
        if mixture.shape[1] != 4 or rate != sr:
            raise InputsError(f"{self.folder / SOUNDSCAPE / name}.wav: {mixture.shape[1]} channel(s) at {rate} Hz; "
                              f"a DCASE mixture is 4-channel FOA at {sr} Hz")  # fmt: skip
        refs = []
        for f in self.targets[name]:
            wave, rate = read_audio(f.path)
            if wave.shape[1] != 1 or rate != sr or wave.shape[0] != mixture.shape[0]:
                raise InputsError(f"{f.path}: {wave.shape[1]} channel(s), {wave.shape[0]} frames at {rate} Hz; an "
                                  f"oracle target is mono, {mixture.shape[0]} frames at {sr} Hz")  # fmt: skip
            refs.append(wave[:, 0])
        return mixture, refs

    def query_clip(self, ev: dict) -> np.ndarray:
        ref = ev["query"].get("audio") or ev.get("source")
        if ref is None or self.bank_set is None:
            raise InputsError(f"{self.folder}: no audio query for class {ev['label']!r} (pass --query-bank)")
        try:
            wave, rate = read_audio(self.bank_set.resolve(ref))
        except InputError as exc:
            raise InputsError(f"audio query of class {ev['label']!r}: {exc}") from exc
        if rate != self.sample_rate:
            raise InputsError(f"{ref['bank']}/{ref['path']}: {rate} Hz, the mixtures are at {self.sample_rate} Hz "
                              "(give a query bank built at the mixtures' rate)")  # fmt: skip
        return wave.mean(axis=1) if wave.shape[1] > 1 else wave[:, 0]

    def rir(self, row: dict, event: int) -> tuple[float | None, float | None]:
        ref = row["events"][event].get("rir")
        if ref is None or self.bank_set is None or ref.get("bank") not in self.bank_set.banks:
            return None, None
        rec = self.bank_set.record(ref)
        return rec.rt60_measured, rec.drr_db
