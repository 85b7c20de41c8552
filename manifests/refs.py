"""The input references of a manifest row, walked in one place for checks, leakage and export.

A reference is ``{"bank", "path", "sha256", "group"}`` (see :mod:`foabench.synth.scenes.manifest`). Four kinds exist:
an event's ``source`` (a clip of a ``sources`` bank, grouped by its split group), an event's ``rir`` (a
``rirs`` bank, grouped by room), the row's ``noise`` (a ``noise`` bank, grouped by its split group) and an event's
``object`` mesh (a ``meshes`` bank, each mesh its own group). A
target's audio query is a ``source`` reference too, so it is checked and counted for leakage like one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

from foabench.synth.banks.bank_set import BankSet
from foabench.synth.banks.format import AnyRecord, Bank

INPUT_KINDS = ("source", "rir", "noise", "mesh")
BANK_KIND = {"source": "sources", "rir": "rirs", "noise": "noise", "mesh": "meshes"}


class RowRef(NamedTuple):
    """One input reference of a row: its kind, where it sits in the row, and the reference object itself."""

    kind: str
    where: str
    ref: dict


def iter_refs(row: dict) -> Iterator[RowRef]:
    """Every reference object of ``row`` (event sources and RIRs in order, then the noise).

    Tolerates malformed rows: parts that are not objects are skipped
    (:func:`foabench.synth.scenes.manifest.validate_row` reports them)."""
    events = row.get("events")
    for k, event in enumerate(events if isinstance(events, list) else []):
        if not isinstance(event, dict):
            continue
        for kind in ("source", "rir"):
            ref = event.get(kind)
            if isinstance(ref, dict):
                yield RowRef(kind, f"event {k} {kind}", ref)
        query = event.get("query")
        if isinstance(query, dict) and isinstance(query.get("audio"), dict):
            yield RowRef("source", f"event {k} audio query", query["audio"])
        obj = event.get("object")
        if isinstance(obj, dict) and isinstance(obj.get("mesh"), dict):
            yield RowRef("mesh", f"event {k} object", obj["mesh"])
    noise = row.get("noise")
    if isinstance(noise, dict):
        yield RowRef("noise", "noise", noise)


def ref_key(ref: dict) -> tuple[str, str]:
    """(bank, path) of a reference, as strings ("" for a missing part)."""
    return str(ref.get("bank", "")), str(ref.get("path", ""))


def records_by_path(bank: Bank) -> dict[str, AnyRecord]:
    """The records of ``bank`` keyed by their bank-relative path."""
    return {rec.path: rec for rec in bank.records}


def open_bank_set(banks: Sequence[str | Path] | BankSet | None) -> BankSet | None:
    """``banks`` as a :class:`BankSet`: opened from bank paths (or folders of banks), passed through, or None."""
    if banks is None or isinstance(banks, BankSet):
        return banks
    return BankSet.open(list(banks))
