"""The banks a manifest refers to, found by name, with every input file checked against its recorded hash."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from foabench.synth.audio_io import sha256_file
from foabench.synth.banks.format import HEADER_NAME, AnyRecord, Bank, BankError


class InputError(ValueError):
    """An input named by a manifest row that is missing, unsafe, or not what the row says."""


def find_bank_dirs(paths: list[str | Path]) -> list[Path]:
    """Bank directories among ``paths``: each path is a bank or a folder whose sub-folders are banks."""
    found = []
    for p in map(Path, paths):
        if (p / HEADER_NAME).is_file():
            found.append(p)
        elif p.is_dir():
            subs = sorted(d for d in p.iterdir() if (d / HEADER_NAME).is_file())
            if not subs:
                raise BankError(f"{p}: neither a foabench bank nor a folder of banks")
            found += subs
        else:
            raise BankError(f"{p}: no such bank or folder of banks")
    return found


@dataclass
class BankSet:
    """Banks by name; :meth:`resolve` turns a manifest reference into a verified file path."""

    banks: dict[str, Bank]
    _verified: dict[tuple[str, str], tuple[Path, str]] = field(default_factory=dict)
    _records: dict[str, dict[str, AnyRecord]] = field(default_factory=dict)

    @classmethod
    def open(cls, paths: list[str | Path]) -> BankSet:
        banks: dict[str, Bank] = {}
        for d in find_bank_dirs(paths):
            bank = Bank.open(d)
            if bank.name in banks and banks[bank.name].root.resolve() != bank.root.resolve():
                raise BankError(f"two banks named {bank.name!r}: {banks[bank.name].root} and {bank.root}")
            banks[bank.name] = bank
        return cls(banks)

    def bank(self, name: str) -> Bank:
        if name not in self.banks:
            raise InputError(f"bank {name!r} not found (have: {sorted(self.banks) or 'none'}); pass it with --banks")
        return self.banks[name]

    def check_fingerprints(self, expected: dict[str, dict], where: str) -> None:
        """Refuse banks whose fingerprint differs from the one a manifest header recorded."""
        for name, info in sorted(expected.items()):
            bank = self.bank(name)
            if bank.fingerprint != info.get("fingerprint"):
                raise InputError(
                    f"{where}: bank {name!r} at {bank.root} has fingerprint {bank.fingerprint[:12]}…, "
                    f"the manifest was made with {str(info.get('fingerprint'))[:12]}…; its files changed"
                )

    def record(self, ref: dict) -> AnyRecord:
        """The bank's index row for a manifest reference (by path)."""
        name = ref["bank"]
        if name not in self._records:
            self._records[name] = {r.path: r for r in self.bank(name).records}
        rec = self._records[name].get(ref["path"])
        if rec is None:
            raise InputError(f"bank {name!r} has no {ref['path']} in its index")
        return rec

    def resolve(self, ref: dict) -> Path:
        """Path of ``{"bank", "path", "sha256"}``, refusing escapes, missing files and content changes.

        Each file is hashed once per process; later calls reuse the verdict."""
        key = (ref["bank"], ref["path"])
        if key in self._verified:
            path, digest = self._verified[key]
            self._compare(ref, digest)
            return path
        bank = self.bank(ref["bank"])
        try:
            path = bank.resolve(ref["path"])
        except BankError as exc:
            raise InputError(f"bank {ref['bank']!r}: {exc}") from exc
        if not path.is_file():
            raise InputError(f"bank {ref['bank']!r}: {ref['path']} is missing from {bank.root}")
        digest = sha256_file(path)
        self._compare(ref, digest)
        self._verified[key] = (path, digest)
        return path

    @staticmethod
    def _compare(ref: dict, digest: str) -> None:
        if digest != ref["sha256"]:
            raise InputError(
                f"bank {ref['bank']!r}: {ref['path']} changed (sha256 {digest[:12]}…, manifest says "
                f"{ref['sha256'][:12]}…); re-render from the bank the manifest was made with"
            )
