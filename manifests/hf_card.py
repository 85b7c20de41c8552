"""The dataset card (``README.md``) of an exported shard folder, generated from its shard index.

The card's YAML header is what the hub and ``datasets.load_dataset(DIR)`` read: ``configs`` (one ``default``
config whose splits glob ``data/{split}-*.parquet``), ``dataset_info`` (the features of
:data:`foabench.manifests.hf_schema.SCHEMA` as ``datasets`` writes them, split sizes), ``license`` and tags.

Licences. Every bank clip an exported row uses — event sources, RIRs, noise and the audio query clips (their
embeddings are in the rows) — contributes its bank record's licence and attribution. Licences are ranked by how
much they restrict reuse of the mixed, redistributed result, least to most:

0. public domain (CC0, PDDL, Unlicense)
1. permissive (MIT, BSD family, Apache, ISC, zlib; the Festival/EST speech licences the starter bank records)
2. attribution (CC-BY)
3. share-alike, weak copyleft (CC-BY-SA, LGPL, MPL)
4. copyleft (GPL, AGPL)
5. non-commercial (CC-BY-NC, CC Sampling+)
6. non-commercial share-alike (CC-BY-NC-SA)
7. no derivatives (CC-BY-ND, CC-BY-NC-ND; mixing may not be allowed at all)
8. unknown: any string not recognised above is treated as the most restrictive, and the card flags it.

The most restrictive tier present governs the dataset; the card names its licences and says so, and the header's
``license`` is their hub identifier (``other`` when they differ, ``unknown`` when one is unrecognised).
"""

from __future__ import annotations

import re
from collections import defaultdict

import yaml

from foabench.manifests.hf_schema import CARD_NAME, SCHEMA, split_pattern

TIERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("public domain", (r"^CC0", r"^PDDL", r"PUBLIC-DOMAIN", r"^UNLICENSE")),
    ("permissive", (r"^MIT\b", r"BSD", r"^APACHE", r"^ISC\b", r"^ZLIB", r"^EST-\d", r"^FESTIVAL-VOICE")),
    ("attribution", (r"^CC-BY-\d",)),
    ("share-alike", (r"^CC-BY-SA\b", r"^LGPL", r"^MPL")),
    ("copyleft", (r"^GPL", r"^AGPL")),
    ("non-commercial", (r"^CC-BY-NC-\d", r"^CC-SAMPLING\+")),
    ("non-commercial share-alike", (r"^CC-BY-NC-SA\b",)),
    ("no derivatives", (r"^CC-BY-ND\b", r"^CC-BY-NC-ND\b")),
)
UNKNOWN_TIER = len(TIERS)
TIER_NAMES = (*(name for name, _ in TIERS), "unknown")

_HUB_CC = {"cc-by", "cc-by-sa", "cc-by-nc", "cc-by-nd", "cc-by-nc-sa", "cc-by-nc-nd"}


def _norm(licence: str) -> str:
    return re.sub(r"[\s_]+", "-", licence.strip()).upper()


def licence_tier(licence: str) -> int:
    """Restriction rank of a licence string (0 = public domain ... ``UNKNOWN_TIER`` for unrecognised ones)."""
    n = _norm(licence)
    for rank in range(len(TIERS) - 1, -1, -1):  # most restrictive first: CC-BY-NC-SA is not mistaken for NC
        if any(re.search(p, n) for p in TIERS[rank][1]):
            return rank
    return UNKNOWN_TIER


def hub_licence_id(licence: str) -> str | None:
    """The hub's licence identifier for a licence string, or None when it has none."""
    n = _norm(licence)
    m = re.match(r"^CC-(BY(?:-NC)?(?:-SA|-ND)?)-(\d\.\d)", n)
    if m and f"cc-{m.group(1).lower()}" in _HUB_CC:
        return f"cc-{m.group(1).lower()}-{m.group(2)}"
    for pattern, hub in (
        (r"^CC0", "cc0-1.0"), (r"^PDDL", "pddl"), (r"^UNLICENSE", "unlicense"), (r"^MIT\b", "mit"),
        (r"^APACHE-2", "apache-2.0"), (r"^BSD-3", "bsd-3-clause"), (r"^BSD-2", "bsd-2-clause"), (r"^ISC\b", "isc"),
        (r"^AGPL-3", "agpl-3.0"), (r"^LGPL-2\.1", "lgpl-2.1"), (r"^LGPL-3", "lgpl-3.0"), (r"^LGPL", "lgpl"),
        (r"^GPL-2", "gpl-2.0"), (r"^GPL-3", "gpl-3.0"), (r"^GPL", "gpl"), (r"^MPL-2", "mpl-2.0"),
    ):  # fmt: skip
        if re.search(pattern, n):
            return hub
    return None


def governing_licence(licences: list[str]) -> dict:
    """The tier that governs a set of licence strings: ``{"tier", "tier_name", "licences", "hub_id",
    "unknown"}`` (``unknown``: the unrecognised strings, which govern when present)."""
    if not licences:
        return {"tier": None, "tier_name": "none", "licences": [], "hub_id": "unknown", "unknown": []}
    ranked = {lic: licence_tier(lic) for lic in set(licences)}
    top = max(ranked.values())
    governing = sorted(lic for lic, r in ranked.items() if r == top)
    ids = {hub_licence_id(lic) for lic in governing}
    hub = "unknown" if top == UNKNOWN_TIER else (ids.pop() if len(ids) == 1 and None not in ids else "other")
    unknown = sorted(lic for lic, r in ranked.items() if r == UNKNOWN_TIER)
    return {"tier": top, "tier_name": TIER_NAMES[top], "licences": governing, "hub_id": hub, "unknown": unknown}


def licence_entries(rows: list[dict], banks) -> list[dict]:
    """Per (bank, licence, attribution): how many distinct clips the rows use and in which roles.

    ``banks`` is a :class:`foabench.synth.banks.bank_set.BankSet`; roles are ``source``, ``rir``, ``noise``,
    ``query``, ``mesh``."""
    clips: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in rows:
        for ev in row["events"]:
            clips[(ev["source"]["bank"], ev["source"]["path"])].add("source")
            clips[(ev["rir"]["bank"], ev["rir"]["path"])].add("rir")
            audio = (ev.get("query") or {}).get("audio")
            if audio:
                clips[(audio["bank"], audio["path"])].add("query")
            mesh = (ev.get("object") or {}).get("mesh")
            if mesh:  # the shape its point clouds show
                clips[(mesh["bank"], mesh["path"])].add("mesh")
        if row.get("noise"):
            clips[(row["noise"]["bank"], row["noise"]["path"])].add("noise")
    grouped: dict[tuple[str, str, str], list] = {}
    for (bank, path), roles in sorted(clips.items()):
        rec = banks.record({"bank": bank, "path": path})
        key = (bank, str(rec.license or "unknown"), str(rec.attribution or ""))
        entry = grouped.setdefault(key, [0, set()])
        entry[0] += 1
        entry[1] |= roles
    return [{"bank": b, "licence": lic, "attribution": att, "clips": n, "roles": sorted(roles)}
            for (b, lic, att), (n, roles) in sorted(grouped.items())]  # fmt: skip


def _features_yaml() -> list:
    from datasets import Features

    return Features.from_arrow_schema(SCHEMA)._to_yaml_list()


def card_header(index: dict, pretty_name: str | None = None) -> dict:
    """The YAML header (as a dict) of the card for a shard index (see :mod:`foabench.manifests.hf_export`)."""
    splits = index["splits"]
    gov = governing_licence([e["licence"] for s in splits.values() for e in s["licences"]])
    header: dict = {"license": gov["hub_id"]}
    if gov["hub_id"] == "other":
        header["license_name"] = "foabench-mixed-" + "-and-".join(
            re.sub(r"[^a-z0-9.]+", "-", lic.lower()).strip("-") for lic in gov["licences"]
        )
        header["license_link"] = f"{CARD_NAME}#licence"
    header["pretty_name"] = pretty_name or "foabench spatial audio source extraction (FOA)"
    header["task_categories"] = ["audio-to-audio"]
    header["tags"] = ["foabench", "ambisonics", "first-order-ambisonics", "spatial-audio", "source-separation",
                      "target-sound-extraction"]  # fmt: skip
    header["configs"] = [{"config_name": "default",
                          "data_files": [{"split": s, "path": split_pattern(s)} for s in sorted(splits)]}]  # fmt: skip
    header["dataset_info"] = {
        "features": _features_yaml(),
        "splits": [{"name": s, "num_bytes": _arrow_bytes(splits[s]), "num_examples": splits[s]["num_rows"]}
                   for s in sorted(splits)],
        "download_size": sum(sh["bytes"] for s in splits.values() for sh in s["shards"]),
        "dataset_size": sum(_arrow_bytes(s) for s in splits.values()),
    }  # fmt: skip
    return header


def _arrow_bytes(split: dict) -> int:
    return sum(int(sh.get("arrow_bytes", 0)) for sh in split["shards"])


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def render_card(index: dict, pretty_name: str | None = None) -> str:
    """The full card text: YAML header, then how to load it, the splits, fields, queries, licence, provenance."""
    header = card_header(index, pretty_name)
    splits = index["splits"]
    entries = [e for s in splits.values() for e in s["licences"]]
    gov = governing_licence([e["licence"] for e in entries])
    first = sorted(splits)[0]
    lines = ["---", yaml.safe_dump(header, sort_keys=False, allow_unicode=True).rstrip(), "---", ""]
    lines += [
        f"# {header['pretty_name']}",
        "",
        "Scenes for query-based spatial audio source extraction, generated and rendered by "
        f"{index['generator']}. Each row is one mixture: a 4-channel "
        "first-order ambisonics recording (AmbiX: ACN channel order W, Y, Z, X; SN3D normalisation) with, per "
        "target event, its reference signals, its direction and its queries (text, an audio query clip and "
        "their embeddings). Audio is stored as 24-bit FLAC bytes, identical to the files `foabench render` writes.",
        "",
        "## Loading",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        'ds = load_dataset("path/to/this/folder")  # the configs below; or, without the card:',
        f'ds = load_dataset("parquet", data_files={{"{first}": "{split_pattern(first)}"}})',
        f'stream = load_dataset("path/to/this/folder", split="{first}", streaming=True)',
        "",
        "from foabench.manifests.hf_reader import decode_row  # or soundfile.read(io.BytesIO(row['mixture']))",
        "",
        f'example = decode_row(ds["{first}"][0])',
        'example["mixture"].shape  # (frames, 4) float32',
        'example["targets"][0]["direct"].shape  # (frames,)',
        "```",
        "",
        "Audio columns are plain bytes (not the `Audio` feature, whose decoder needs torchcodec); decode them with "
        "soundfile.",
        "",
        "## Splits",
        "",
        "| split | mixtures | targets | shards | size | sample rate | manifest rows sha256 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in sorted(splits):
        s = splits[name]
        size = sum(sh["bytes"] for sh in s["shards"])
        lines.append(f"| {name} | {s['num_rows']} | {s['num_targets']} | {len(s['shards'])} | {_mb(size)} | "
                     f"{', '.join(map(str, s['sample_rates']))} Hz | `{s['rows_sha256'][:16]}…` |")  # fmt: skip
    lines += [
        "",
        "Per-shard rows, bytes and sha256 are listed in `shards.json`.",
        "",
        "## Fields",
        "",
        "- `id`, `split`, `index`, `seed`, `sample_rate`, `num_frames`: the mixture's manifest identity.",
        "- `mixture`: 4-channel AmbiX FLAC.",
        "- `targets`: per target event: `event` (index into `events`), `label`, references `direct` (mono, the "
        "direct path: the source convolved with the W channel of its RIR windowed to [peak − 6 ms, peak + 50 ms]), "
        "`dry` (mono), `wet` (4-channel reverberant image); `azimuth`, `elevation` (degrees), `distance` (m), "
        "`snr_db`, `onset`, `length`, `direct_sample` (samples); `query_text`, `query_text_source`, "
        "`query_audio` (bank, path, sha256 of the audio query clip), `query_recipe` (JSON), `query_direction`, "
        "`query_region` and `query_pointcloud` (JSON spatial queries, null when the spec asks for none), "
        "`pointcloud` (the target's points as a depth sensor at the microphone captured them: `.npz` bytes, "
        "`points` (N, 3) float32 metres in the AmbiX frame); `embedding_target`, `embedding_audio_query`, "
        "`embedding_text` (float32, unit norm).",
        "- `events`: every event (targets and interferers): role, label, placement, level, source and RIR clips, "
        "and `object` (JSON: the mesh that stands for it in the point clouds, or why none).",
        "- `scene_cloud`: the whole-scene capture (`.npz` bytes: `points` (N, 3) float32, `ids` (N,) int16 = "
        "event index, -1 for room walls), null without point-cloud queries.",
        "- `metadata_json` (render metadata), `row_json` (the manifest row: re-renders bit-exactly with "
        "`foabench render`).",
        "- Provenance: `manifest`, `manifest_rows_sha256`, `banks` (fingerprints), `encoder_name`, `encoder_hash`, "
        "`generator`, `export_version`.",
        "",
        "## Query embeddings",
        "",
    ]
    enc = index.get("encoder")
    if enc:
        lines.append(f"Encoder `{enc['name']}` (hash `{enc['hash']}`, {enc['dim']} dimensions).")
    else:
        lines.append("Exported without an encoder: the embedding fields are null.")
    lines += ["", "## Licence", "", *_licence_section(gov, entries), "", "## Provenance", ""]
    for name in sorted(splits):
        s = splits[name]
        banks = ", ".join(f"`{b}` ({info.get('kind', '?')}, `{str(info.get('fingerprint'))[:16]}…`)"
                          for b, info in sorted(s["banks"].items()))  # fmt: skip
        lines.append(f"- {name}: manifest `{s['manifest']}` (rows sha256 `{s['rows_sha256']}`); banks {banks}.")
    return "\n".join(lines) + "\n"


def _licence_section(gov: dict, entries: list[dict]) -> list[str]:
    out = []
    if gov["tier"] is None:
        return ["No bank clips are used."]
    names = ", ".join(f"`{lic}`" for lic in gov["licences"])
    out.append(
        f"**The most restrictive source licence governs this dataset: {names}** (tier “{gov['tier_name']}”; "
        f"hub identifier `{gov['hub_id']}`). Using or redistributing the dataset means complying with it, and with "
        "the attribution terms of every source below."
    )
    if gov["unknown"]:
        flagged = ", ".join(f"`{lic}`" for lic in gov["unknown"])
        out += ["", f"⚠ Unrecognised licence strings, treated as the most restrictive: {flagged}. Check them by hand."]
    out += [
        "",
        "Licences are ranked, least to most restrictive: "
        + ", ".join(f"{i}. {n}" for i, n in enumerate(TIER_NAMES))
        + ". Every bank clip a row uses counts: sources, RIRs, noise, and audio query clips (whose embeddings are "
        "included).",
        "",
        "| licence | tier | clips | roles | banks |",
        "|---|---|---|---|---|",
    ]
    by_licence: dict[str, list[dict]] = defaultdict(list)
    for e in entries:
        by_licence[e["licence"]].append(e)
    order = sorted(by_licence, key=lambda lic: (-licence_tier(lic), lic))
    for lic in order:
        es = by_licence[lic]
        roles = sorted({r for e in es for r in e["roles"]})
        banks = sorted({e["bank"] for e in es})
        out.append(f"| {_cell(lic)} | {TIER_NAMES[licence_tier(lic)]} | {sum(e['clips'] for e in es)} | "
                   f"{', '.join(roles)} | {', '.join(banks)} |")  # fmt: skip
    out += ["", "### Attributions", ""]
    for lic in order:
        attributions: dict[str, int] = defaultdict(int)
        for e in by_licence[lic]:
            attributions[e["attribution"] or f"(no attribution recorded; bank {e['bank']})"] += e["clips"]
        plural = "s" if len(attributions) != 1 else ""
        out.append(f"<details><summary>{lic} ({len(attributions)} attribution{plural})</summary>")
        out.append("")
        out += [f"- {a} ({n} clip{'s' if n != 1 else ''})" for a, n in sorted(attributions.items())]
        out += ["", "</details>", ""]
    return out
