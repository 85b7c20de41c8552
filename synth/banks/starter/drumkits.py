"""Drum and percussion hits: recorded multi-velocity samples from Debian's hydrogen-drumkits (each kit's
``drumkit.xml`` names the instrument and its velocity layers) and the tabla strokes of sonic-pi-samples.

A kit instrument's layers are recordings of one drum in one session, so they share a split group.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from foabench.synth.banks.builder import ClipSource
from foabench.synth.banks.starter.debian_copyright import licence_for, package_licences

HYDROGEN_KITS = Path("/usr/share/hydrogen/data/drumkits")
SONIC_PI_SAMPLES = Path("/usr/share/sonic-pi/samples")

# Ordered: the first rule whose pattern matches an instrument name decides its class.
DRUM_RULES: tuple[tuple[str, str], ...] = (
    (r"roll|rim|stick|click|zap|fx|whistle|bell|cup|choke|swish|flink", ""),  # ambiguous: not used
    (r"clap", "hand clap"),
    (r"cowbell", "cowbell"),
    (r"kick|bass ?drum|bassdrum|\bbd\b", "kick drum"),
    (r"snare", "snare drum"),
    (r"hi-?hat|\bhh\b|\bhat\b", "hi-hat"),
    (r"crash|ride|splash|china|cymbal", "cymbal"),
    (r"tom", "tom drum"),
    (r"djembe", "djembe"),
    (r"tambourine", "tambourine"),
)
QUALIFIERS = ("open", "closed", "pedal", "crash", "ride", "splash", "china", "floor")


def drum_class(instrument_name: str) -> str:
    """Starter class of a Hydrogen instrument name ('' when ambiguous or unrelated)."""
    name = instrument_name.lower()
    for pattern, label in DRUM_RULES:
        if re.search(pattern, name):
            return label
    return ""


def _dynamic(lo: float, hi: float) -> str:
    return "soft" if hi <= 0.45 else "hard" if lo >= 0.75 else ""


def _caption(label: str, instrument_name: str, dynamic: str) -> str:
    name = instrument_name.lower()
    quals = [q for q in QUALIFIERS if re.search(rf"\b{q}", name) and q not in label]
    words = [w for w in (dynamic, *quals[:1], label) if w]
    article = "an" if words[0][0] in "aeiou" else "a"
    return f"{article} {' '.join(words)} hit"


def _kit_licence(kit_dir: Path, root: ET.Element, ns: str) -> tuple[str, str]:
    """(licence, copyright holder) of a kit from Debian's copyright file, else from its drumkit.xml."""
    stanza = licence_for("hydrogen-drumkits", f"drumkits/{kit_dir.name}.h2drumkit")
    if stanza is None:  # kit folders sometimes carry a version suffix that the archive name lacks
        norm = re.sub(r"[^a-z0-9]", "", kit_dir.name.lower())
        for candidate in package_licences("hydrogen-drumkits"):
            stems = [
                re.sub(r"[^a-z0-9]", "", Path(p).stem.lower()) for p in candidate.patterns if p.endswith(".h2drumkit")
            ]
            if any(stem and norm.startswith(stem) for stem in stems):
                stanza = candidate
    if stanza is not None:
        return stanza.license, stanza.copyright
    return (root.findtext(f"{ns}license") or "unknown").strip(), (root.findtext(f"{ns}author") or "").strip()


def hydrogen_sources(classes: set[str] | None = None) -> list[ClipSource]:
    """One candidate per velocity layer of every classified instrument of every installed kit."""
    if not HYDROGEN_KITS.is_dir():
        raise FileNotFoundError(f"{HYDROGEN_KITS} not found: install the Debian package 'hydrogen-drumkits'")
    out = []
    for kit_xml in sorted(HYDROGEN_KITS.glob("*/drumkit.xml")):
        kit = kit_xml.parent
        root = ET.parse(kit_xml).getroot()
        ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
        licence, holder = _kit_licence(kit, root, ns)
        kit_slug = re.sub(r"[^A-Za-z0-9]+", "_", kit.name).strip("_")
        for inst in root.iter(f"{ns}instrument"):
            name = (inst.findtext(f"{ns}name") or "").strip()
            label = drum_class(name)
            if not label or (classes is not None and label not in classes):
                continue
            inst_id = (inst.findtext(f"{ns}id") or "0").strip()
            layers = inst.findall(f"{ns}layer") or inst.findall(f"{ns}instrumentComponent/{ns}layer")
            for layer in layers:
                fname = (layer.findtext(f"{ns}filename") or "").strip()
                if not fname:
                    continue
                lo = float(layer.findtext(f"{ns}min") or 0)
                hi = float(layer.findtext(f"{ns}max") or 1)
                stem = re.sub(r"[^A-Za-z0-9]+", "_", Path(fname).stem).strip("_")
                slug = label.replace(" ", "_")
                out.append(
                    ClipSource(
                        key=f"hydrogen:{kit.name}/{fname}",
                        rel_path=f"audio/{slug}/{kit_slug}_{inst_id}_{stem}",
                        labels=[label],
                        caption=_caption(label, name, _dynamic(lo, hi)),
                        license=licence,
                        attribution=f"{holder} — Hydrogen drumkit '{kit.name}', "
                        f"instrument '{name}' (Debian hydrogen-drumkits)",
                        split_group=f"hydrogen:{kit.name}:{inst_id}",
                        path=str(kit / fname),
                        extra={"kit": kit.name, "instrument": name, "velocity_range": [lo, hi]},
                    )
                )
    return out


TABLA_STROKES = {
    "dhec": "dha",
    "ghe": "ghe",
    "ke": "ke",
    "na": "na",
    "re": "re",
    "tas": "tas",
    "te": "te",
    "tun": "tun",
}


def tabla_sources() -> list[ClipSource]:
    """The single tabla strokes of sonic-pi-samples (each a separate Freesound recording)."""
    if not SONIC_PI_SAMPLES.is_dir():
        raise FileNotFoundError(f"{SONIC_PI_SAMPLES} not found: install the Debian package 'sonic-pi-samples'")
    out = []
    for path in sorted(SONIC_PI_SAMPLES.glob("tabla_*.flac")):
        stanza = licence_for("sonic-pi-samples", f"etc/samples/{path.name}")
        stroke = path.stem.split("_")[1].rstrip("0123456789")
        source = stanza.source if stanza else ""
        out.append(
            ClipSource(
                key=f"sonic-pi:{path.name}",
                rel_path=f"audio/tabla/{path.stem}",
                labels=["tabla"],
                caption=f"a tabla drum stroke ('{TABLA_STROKES.get(stroke, stroke)}')",
                license=stanza.license if stanza else "unknown",
                attribution=f"{stanza.copyright if stanza else ''} {source} (Debian sonic-pi-samples)".strip(),
                split_group=f"sonic-pi:{source or path.stem}",
                path=str(path),
                extra={"package": "sonic-pi-samples"},
            )
        )
    return out
