"""Licences of packaged sound files, read from Debian's machine-readable ``copyright`` files (DEP-5)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DOC_ROOT = Path("/usr/share/doc")


@dataclass(frozen=True)
class LicenceStanza:
    """One ``Files:`` paragraph: its patterns, copyright holder(s), short licence name and source."""

    patterns: tuple[str, ...]
    copyright: str
    license: str
    source: str


def _paragraphs(text: str) -> list[dict[str, str]]:
    paras, fields, key = [], {}, None
    for line in text.splitlines():
        if not line.strip():
            if fields:
                paras.append(fields)
            fields, key = {}, None
        elif line[0] in " \t" and key is not None:
            fields[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
    if fields:
        paras.append(fields)
    return paras


@cache
def package_licences(package: str) -> tuple[LicenceStanza, ...]:
    """The Files stanzas of /usr/share/doc/PACKAGE/copyright (empty when the file is not DEP-5)."""
    path = DOC_ROOT / package / "copyright"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is the Debian package {package!r} installed?")
    out = []
    for p in _paragraphs(path.read_text(encoding="utf-8", errors="replace")):
        if "files" in p and "license" in p:
            out.append(
                LicenceStanza(
                    patterns=tuple(p["files"].split()),
                    copyright=" ".join(p.get("copyright", "").split()),
                    license=p["license"].split("\n", 1)[0].strip(),
                    source=p.get("source", "").strip(),
                )
            )
    return tuple(out)


def licence_for(package: str, upstream_path: str) -> LicenceStanza | None:
    """The stanza governing ``upstream_path`` (the last matching one, as DEP-5 specifies)."""
    found = None
    for stanza in package_licences(package):
        if any(fnmatch.fnmatchcase(upstream_path, pat) for pat in stanza.patterns):
            found = stanza
    return found
