"""One rule for every versioned file foabench reads: a missing or future schema version is refused."""

from __future__ import annotations


def check_schema_version(version: object, known: int, what: str, where: str, error: type[Exception]) -> None:
    """Raise ``error`` naming ``where`` when ``version`` is missing or newer than ``known``."""
    if not isinstance(version, int):
        raise error(f"{where}: missing schema_version")
    if version > known:
        raise error(
            f"{where}: {what} schema version {version} is newer than this foabench understands ({known}); "
            "upgrade foabench to read it"
        )
