"""The fixed layout of foabench's Hugging Face parquet shards: one row per mixture.

Columns (audio is FLAC bytes, exactly the bytes :mod:`foabench.synth.scenes.render_split` writes, decoded with
soundfile):

- ``id``, ``split``, ``index``, ``seed``, ``sample_rate``, ``num_frames``: the manifest row's identity.
- ``mixture``: the 4-channel AmbiX (ACN/SN3D) mixture, 24-bit FLAC.
- ``targets``: one struct per target event, in target order ``k``: ``event`` (index into ``events``),
  ``label``, ``direct`` / ``dry`` (mono FLAC) and ``wet`` (4-channel FLAC; null when the export leaves it
  out) references, the event's ``azimuth``, ``elevation``, ``distance``, ``snr_db``, ``onset``, ``length``
  (samples), ``direct_sample``, the ``rt60`` (s) and ``drr_db`` of its RIR, and its query: ``query_text``,
  ``query_text_source``, ``query_audio`` (bank, path and sha256 of the audio query clip, or null),
  ``query_audio_clip`` (the bytes of the clip the audio query plays — the query clip, or the target's own clip
  when its class has no other — exactly as its bank stores them, so they hash to its sha256 and a user
  without the banks can play or embed it), ``query_recipe`` (JSON), the spatial queries ``query_direction``,
  ``query_region`` and ``query_pointcloud`` (JSON, null when the spec asks for none) with ``pointcloud`` (the
  target's points as ``.npz`` bytes: ``points`` (N, 3) float32 metres, AmbiX frame), plus the embeddings
  ``embedding_target`` (the target clip), ``embedding_audio_query`` and ``embedding_text`` (float32, unit norm;
  null when exported without an encoder or when the target has no such query).
- ``events``: per event of the row (targets and interferers) its role, label, placement, level, inputs and
  ``object`` (JSON: the mesh that stands for it in point clouds, or why none).
- ``scene_cloud``: the whole-scene capture (``.npz``: ``points`` (N, 3) float32, ``ids`` (N,) int16 = event
  index, -1 for room surfaces), null when the spec asks for no point clouds.
- ``metadata_json``: the renderer's metadata (clip gain, noise level, room); ``row_json``: the manifest row
  itself, so any row re-renders bit-exactly with ``foabench render``.
- Provenance: ``manifest``, ``manifest_rows_sha256``, ``banks`` (name, kind, fingerprint), ``encoder_name``,
  ``encoder_hash``, ``generator`` (foabench version) and ``export_version``.
"""

from __future__ import annotations

import re

import pyarrow as pa

#: 2: query_audio_clip, rt60, drr_db; wet may be null; 3: query_direction, query_region; 4: query_pointcloud,
#: pointcloud, scene_cloud, events' object (older shards still read)
EXPORT_VERSION = 4
INDEX_NAME = "shards.json"
CARD_NAME = "README.md"
DATA_DIR = "data"
SPLIT_NAME = re.compile(r"^\w+(\.\w+)*$")  # what datasets accepts as a split name (no '-', so globs stay apart)


class ExportError(ValueError):
    """An export that cannot go ahead or a shard folder that cannot be read (named in the message)."""


_REF = pa.struct([("bank", pa.string()), ("path", pa.string()), ("sha256", pa.string())])
_VECTOR = pa.list_(pa.float32())

TARGET = pa.struct(
    [
        ("event", pa.int32()),
        ("label", pa.string()),
        ("direct", pa.binary()),
        ("dry", pa.binary()),
        ("wet", pa.binary()),
        ("azimuth", pa.float64()),
        ("elevation", pa.float64()),
        ("distance", pa.float64()),
        ("snr_db", pa.float64()),
        ("onset", pa.int64()),
        ("length", pa.int64()),
        ("direct_sample", pa.int64()),
        ("rt60", pa.float64()),
        ("drr_db", pa.float64()),
        ("query_text", pa.string()),
        ("query_text_source", pa.string()),
        ("query_audio", _REF),
        ("query_audio_clip", pa.binary()),
        ("query_recipe", pa.string()),
        ("query_direction", pa.string()),
        ("query_region", pa.string()),
        ("query_pointcloud", pa.string()),
        ("pointcloud", pa.binary()),
        ("embedding_target", _VECTOR),
        ("embedding_audio_query", _VECTOR),
        ("embedding_text", _VECTOR),
    ]
)

EVENT = pa.struct(
    [
        ("role", pa.string()),
        ("label", pa.string()),
        ("target", pa.int32()),
        ("onset", pa.int64()),
        ("length", pa.int64()),
        ("snr_db", pa.float64()),
        ("gain_db", pa.float64()),
        ("silent", pa.bool_()),
        ("azimuth", pa.float64()),
        ("elevation", pa.float64()),
        ("distance", pa.float64()),
        ("source", _REF),
        ("rir", _REF),
        ("object", pa.string()),
    ]
)

BANK = pa.struct([("name", pa.string()), ("kind", pa.string()), ("fingerprint", pa.string())])

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("split", pa.string()),
        ("index", pa.int64()),
        ("seed", pa.int64()),
        ("sample_rate", pa.int32()),
        ("num_frames", pa.int64()),
        ("mixture", pa.binary()),
        ("targets", pa.list_(TARGET)),
        ("events", pa.list_(EVENT)),
        ("scene_cloud", pa.binary()),
        ("metadata_json", pa.string()),
        ("row_json", pa.string()),
        ("manifest", pa.string()),
        ("manifest_rows_sha256", pa.string()),
        ("banks", pa.list_(BANK)),
        ("encoder_name", pa.string()),
        ("encoder_hash", pa.string()),
        ("generator", pa.string()),
        ("export_version", pa.int32()),
    ]
)


def shard_name(split: str, i: int, n: int) -> str:
    """Data-folder-relative path of shard ``i`` of ``n`` of a split (the layout the card's configs glob)."""
    return f"{DATA_DIR}/{split}-{i:05d}-of-{n:05d}.parquet"


def split_pattern(split: str) -> str:
    """The ``data_files`` glob of a split in the card's ``configs``."""
    return f"{DATA_DIR}/{split}-*.parquet"


def check_split_name(split: str, where: str) -> None:
    """Refuse split names the hub would reject (they become file-name prefixes and config split names)."""
    if not SPLIT_NAME.match(split):
        raise ExportError(f"{where}: split name {split!r} is not a valid dataset split name (letters, digits, _ .)")
