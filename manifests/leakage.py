"""Cross-split leakage: an input group (source split group, room, noise split group, mesh) or an input file used by
manifests of two different splits.

Splits must be disjoint in source clips, RIRs (rooms) and noise clips. Each reference records its ``group``,
so leakage is decided from the manifests alone: a ``(bank, group)`` seen under two splits is a leak. The same
``(bank, path)`` under two splits is normally the same group leaking and is reported once, by group; it is
reported by path only when the rows recorded different groups for that file (so no group leak covers it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from foabench.manifests.refs import INPUT_KINDS, iter_refs, ref_key


@dataclass(frozen=True)
class Leak:
    """One input unit shared by several splits, with the first row id that used it in each split."""

    kind: str  # "source", "rir" or "noise"
    unit: str  # "group" or "path"
    bank: str
    value: str  # the group or the bank-relative path
    examples: dict[str, str]  # split -> row id

    @property
    def subject(self) -> str:
        """What leaks, e.g. ``source group starter:gm:piano-3``."""
        return f"{self.kind} {self.unit} {self.bank}:{self.value}"

    def describe(self) -> str:
        """The splits that share it, each with an example row id."""
        uses = ", ".join(f"{split} (row {row_id})" for split, row_id in sorted(self.examples.items()))
        return f"used by splits {uses}"


_Uses = dict[tuple[str, str], dict[str, str]]  # (bank, group or path) -> split -> first row id


class LeakageIndex:
    """Collects which splits use which inputs, row by row; :meth:`leaks` lists what is shared."""

    def __init__(self) -> None:
        self._groups: dict[str, _Uses] = {kind: defaultdict(dict) for kind in INPUT_KINDS}
        self._paths: dict[str, _Uses] = {kind: defaultdict(dict) for kind in INPUT_KINDS}
        self._path_groups: dict[str, dict[tuple[str, str], set[str]]] = {kind: defaultdict(set) for kind in INPUT_KINDS}

    def _use(self, kind: str, split: str, row_id: str, bank: str, group: str, path: str | None) -> None:
        self._groups[kind][(bank, group)].setdefault(split, row_id)
        if path is not None:
            self._paths[kind][(bank, path)].setdefault(split, row_id)
            self._path_groups[kind][(bank, path)].add(group)

    def add_row(self, split: str, row: dict) -> None:
        """Record the inputs of one row under ``split`` (the row's room, when named, counts as an RIR group)."""
        row_id = str(row.get("id", "?"))
        for r in iter_refs(row):
            if "group" in r.ref:
                bank, path = ref_key(r.ref)
                self._use(r.kind, split, row_id, bank, str(r.ref["group"]), path)
        room = row.get("room")
        if isinstance(room, dict) and "bank" in room and "room" in room:
            self._use("rir", split, row_id, str(room["bank"]), str(room["room"]), None)

    def leaks(self) -> list[Leak]:
        """Every group used by more than one split, then every file so used that no group leak covers."""
        found = []
        for kind in INPUT_KINDS:
            leaking = {key for key, splits in self._groups[kind].items() if len(splits) > 1}
            found += [Leak(kind, "group", b, g, dict(self._groups[kind][(b, g)])) for b, g in sorted(leaking)]
            for (bank, path), splits in sorted(self._paths[kind].items()):
                covered = any((bank, g) in leaking for g in self._path_groups[kind][(bank, path)])
                if len(splits) > 1 and not covered:
                    found.append(Leak(kind, "path", bank, path, dict(splits)))
        return found
