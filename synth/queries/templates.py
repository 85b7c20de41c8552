"""Class phrases for text queries where a clip has no caption: fixed templates, chosen by index."""

from __future__ import annotations

TEMPLATES = (
    "the sound of {a} {label}",
    "{a} {label}",
    "{label} sound",
    "a recording of {a} {label}",
    "someone playing {a} {label}",
    "{a} {label} can be heard",
)


def _article(label: str) -> str:
    if label.endswith("speech") or label.endswith("s"):
        return ""
    return "an" if label[:1].lower() in "aeiou" else "a"


def class_phrase(label: str, index: int) -> str:
    """Template ``index`` (modulo the number of templates) filled with ``label`` ('the sound of a piano')."""
    text = TEMPLATES[index % len(TEMPLATES)].format(a=_article(label), label=label)
    return " ".join(text.split())
