"""Reading a results folder's ``rows.jsonl`` (shared by ``foabench eval``'s resume and the leaderboard)."""

from __future__ import annotations

import json
from pathlib import Path


def read_result_rows(path: Path) -> list[dict]:
    """The rows of a ``rows.jsonl``; a last line without a newline that does not parse (torn by an interrupted
    write) is skipped, any other malformed line is an error naming it."""
    lines = path.read_text(encoding="utf-8").split("\n")
    rows = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if i == len(lines):
                break
            raise ValueError(f"{path}:{i}: malformed JSON ({exc})") from exc
    return rows
