"""Training and validation data for separators: dynamic mixing and fixed manifests.

:class:`DynamicMixDataset` is map-style: item ``i`` is scene ``i`` of a
:class:`~foabench.synth.scenes.sampler.SceneStream` (the manifests' own sampler), rendered by
:class:`~foabench.synth.scenes.render.Renderer` inside the DataLoader worker, with one target chosen by the row's seed
and its pseudo-query made from the recorded recipe applied to the encoder's embedding of the target clip. Because every
item depends only on ``(seed, i)``, any worker count gives the same batches, and a resumed run continues the same stream
from where it stopped. :class:`ManifestDataset` yields every target of a fixed manifest with its audio and text query
embeddings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from foabench.synth.banks.bank_set import BankSet
from foabench.synth.pointclouds.fixed_size import fixed_size_cloud
from foabench.synth.queries.pseudo import apply_recipe
from foabench.synth.scenes.manifest import audio_query_ref
from foabench.synth.scenes.mix import SceneInputs
from foabench.synth.scenes.pointcloud_query import scene_capture
from foabench.synth.scenes.region_query import region_vector
from foabench.synth.scenes.render import Renderer
from foabench.synth.scenes.render_torch import DeviceMixer
from foabench.synth.scenes.sampler import SceneStream


@dataclass
class QueryTable:
    """Embeddings the data pipeline needs, looked up by content: clip sha256 -> audio, text -> text."""

    encoder_hash: str
    dim: int
    audio: dict[str, np.ndarray] = field(default_factory=dict)
    text: dict[str, np.ndarray] = field(default_factory=dict)

    def audio_of(self, ref: dict) -> np.ndarray:
        try:
            return self.audio[ref["sha256"]]
        except KeyError as exc:
            raise KeyError(f"no embedding for {ref['bank']}/{ref['path']}; run `foabench queries embed`") from exc


def build_query_table(encoder, banks: BankSet, cache_root, texts: list[str] | None = None) -> QueryTable:
    """Embed (through the cache) every clip and caption of the source banks, plus ``texts``."""
    from foabench.synth.queries.cache import EmbeddingCache, cached_text
    from foabench.synth.queries.export import clip_embeddings

    cache = EmbeddingCache(cache_root, encoder.hash)
    table = QueryTable(encoder.hash, encoder.dim)
    all_texts = set(texts or [])
    for bank in banks.banks.values():
        if bank.kind != "sources":
            continue
        refs = [{"bank": bank.name, "path": r.path, "sha256": r.sha256} for r in bank.records]
        for ref, vec in zip(refs, clip_embeddings(encoder, cache, banks, refs), strict=True):
            table.audio[ref["sha256"]] = vec
        all_texts |= {r.caption for r in bank.records if r.caption}
    ordered = sorted(all_texts)
    for text, vec in zip(ordered, cached_text(cache, encoder, ordered), strict=True):
        table.text[text] = vec
    return table


def channels_of(mixture: np.ndarray, n_channels: int) -> np.ndarray:
    """``(frames, 4)`` AmbiX -> ``(n_channels, frames)``: all four, or W alone for a mono model."""
    return np.ascontiguousarray(mixture[:, : _checked_channels(n_channels)].T)


def _checked_channels(n_channels: int) -> int:
    if n_channels not in (1, 4):
        raise ValueError(f"separators take 4 (AmbiX) or 1 (W) channels, not {n_channels}")
    return n_channels


class _RendererHolder:
    """One Renderer per process, opened lazily (DataLoader workers each get their own)."""

    def __init__(self, bank_paths: list[str]):
        self.bank_paths = bank_paths
        self._renderer: Renderer | None = None

    def __getstate__(self):
        return {"bank_paths": self.bank_paths, "_renderer": None}

    @property
    def renderer(self) -> Renderer:
        if self._renderer is None:
            self._renderer = Renderer(BankSet.open(self.bank_paths))
        return self._renderer


#: where the stand-ins for scenes without a target are drawn: far past any index a training run reaches
NO_TARGET_STRIDE = 2**40
NO_TARGET_TRIES = 100


def trained_target(stream: SceneStream, index: int) -> tuple[dict, int]:
    """Scene ``index`` of the stream and which of its targets is trained (``row seed mod targets``). A scene
    without a target (allowed by DCASE 2026's rules) is replaced by the first scene with one among
    ``index + n * NO_TARGET_STRIDE``, n = 1, 2, ...: deterministic, and never a scene the run also draws."""
    for n in range(NO_TARGET_TRIES):
        row = stream.row(index + n * NO_TARGET_STRIDE)
        n_targets = sum(e["role"] == "target" for e in row["events"])
        if n_targets:
            return row, row["seed"] % n_targets
    raise ValueError(
        f"{NO_TARGET_TRIES} scenes in a row without a target: this spec's targets.count is (almost) always 0, "
        "so a separator has nothing to learn from it"
    )


class DynamicMixDataset(Dataset):
    """Item ``i``: ``(mixture (C, L), target direct (L,), query (dim,), render seconds)`` of scene ``i``.

    Only the trained target's ``direct`` reference is read, so the renderer never builds ``dry`` or ``wet``. With
    ``gather_only`` the item is ``(scene inputs, target index, query, gather seconds)`` instead, batched by
    :func:`gathered_batch` and mixed on the training device by :func:`mix_gathered` (``train --mix-on device``)."""

    def __init__(self, stream: SceneStream, bank_paths: list[str], table: QueryTable, n_channels: int,
                 recipe_override: dict | None = None, condition: str = "embedding",
                 cloud_points: int = 256, gather_only: bool = False):  # fmt: skip
        self.gather_only = gather_only
        self.stream = stream
        #: what the query is made of (see :func:`condition_query`)
        self.condition, self.cloud_points = condition, cloud_points
        self.holder = _RendererHolder([str(p) for p in bank_paths])
        self.table = table
        self.n_channels = n_channels
        self.recipe_override = dict(recipe_override or {})  # replaces the rows' recipe fields (not its seed)

    def __len__(self) -> int:
        return 2**62

    def __getitem__(self, index: int):
        t0 = time.perf_counter()
        row, k = trained_target(self.stream, int(index))
        renderer = self.holder.renderer
        rendered = renderer.inputs(row) if self.gather_only else renderer.render(row)
        ev = [e for e in row["events"] if e["role"] == "target"][k]
        query = ev["query"]
        embedding = None
        if "embedding" in self.condition:
            caption = self.table.text.get(query["text"]) if query.get("text_source") == "caption" else None
            recipe = {**query["recipe"], **self.recipe_override, "seed": query["recipe"]["seed"]}
            embedding = apply_recipe(recipe, self.table.audio_of(ev["source"]), caption)
        q = condition_query(self.condition, row, row["events"].index(ev), renderer.banks, self.cloud_points,
                            embedding)  # fmt: skip
        if self.gather_only:
            return rendered, k, torch.from_numpy(np.asarray(q, np.float32)), torch.tensor(time.perf_counter() - t0)
        mixture = channels_of(rendered.mixture, self.n_channels)
        target = rendered.references[k]["direct"]
        return (torch.from_numpy(mixture), torch.from_numpy(target), torch.from_numpy(np.asarray(q, np.float32)),
                torch.tensor(time.perf_counter() - t0))  # fmt: skip


def gathered_batch(items: list[tuple]) -> tuple[list[SceneInputs], list[int], torch.Tensor, torch.Tensor]:
    """The DataLoader's ``collate_fn`` for :class:`DynamicMixDataset` items made with ``gather_only``."""
    scenes, targets, queries, seconds = zip(*items, strict=True)
    return list(scenes), list(targets), torch.stack(queries), torch.stack(seconds)


def mix_gathered(mixer: DeviceMixer, scenes: list[SceneInputs], targets: list[int],
                 n_channels: int) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """``(mixtures (B, C, L), target directs (B, L))`` of a gathered batch, mixed on the mixer's device."""
    mixed = mixer.mix(scenes, targets)
    return mixed.mixtures[:, :, : _checked_channels(n_channels)].transpose(1, 2).contiguous(), mixed.directs


def direction_query_of(ev: dict, row_id: str) -> np.ndarray:
    """A target's recorded direction query as float32 ``(azimuth, elevation)``; a clear error when it has none."""
    direction = (ev.get("query") or {}).get("direction")
    if direction is None:
        raise ValueError(f"{row_id}: target {ev.get('label')!r} has no direction query; a model conditioned on "
                         "directions trains and validates on scenes sampled with queries.direction")  # fmt: skip
    return np.array([direction["azimuth"], direction["elevation"]], dtype=np.float32)


def region_query_of(ev: dict, row_id: str) -> np.ndarray:
    """A target's recorded region query as float32 ``(azimuth, elevation, size_deg, 1 for a box / 0 for a cone)``."""
    region = (ev.get("query") or {}).get("region")
    if region is None:
        raise ValueError(f"{row_id}: target {ev.get('label')!r} has no region query; a model conditioned on "
                         "regions trains and validates on scenes sampled with queries.region")  # fmt: skip
    return region_vector(region)


def condition_query(condition: str, row: dict, event: int, banks: BankSet, cloud_points: int,
                    embedding: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """The query a model with ``condition`` reads for event ``event`` of ``row`` (``embedding``: the audio or
    text query's embedding, for the conditions that use one)."""
    ev = row["events"][event]
    if condition == "direction":
        return direction_query_of(ev, row["id"])
    if condition == "region":
        return region_query_of(ev, row["id"])
    if condition == "pointcloud":
        return pointcloud_query_of(row, event, banks, cloud_points)
    if condition == "embedding+direction":
        return np.concatenate([np.asarray(embedding, np.float32), direction_query_of(ev, row["id"])])
    return np.asarray(embedding, np.float32)


def pointcloud_query_of(row: dict, event: int, banks: BankSet, n: int) -> np.ndarray:
    """A target's point-cloud query as ``(n, 4)`` float32 (seeded by the row); a clear error when it has none."""
    if (row["events"][event].get("query") or {}).get("pointcloud") is None:
        raise ValueError(f"{row['id']}: target {row['events'][event]['label']!r} has no point-cloud query; a model "
                         "conditioned on point clouds trains and validates on scenes sampled with "
                         "queries.pointcloud (and a meshes bank)")  # fmt: skip
    return fixed_size_cloud(scene_capture(row, banks, only=event).points, n, row["seed"])


class StreamSampler(Sampler[int]):
    """This rank's share of a global stream: its n-th index is ``(start + n) * world + rank``."""

    def __init__(self, start: int, count: int, rank: int = 0, world: int = 1):
        self.start, self.count, self.rank, self.world = start, count, rank, world

    def __iter__(self):
        return iter((self.start + n) * self.world + self.rank for n in range(self.count))

    def __len__(self) -> int:
        return self.count


class ManifestDataset(Dataset):
    """Every target of a fixed manifest: ``(mixture, direct, audio query, text query, mixture W)`` plus keys, and
    ``swap_query``: the audio query of another target of another class (the swap test: a separator that uses its
    query must do worse with it)."""

    def __init__(self, rows: list[dict], bank_paths: list[str], table: QueryTable, n_channels: int,
                 condition: str = "embedding", cloud_points: int = 256):  # fmt: skip
        #: what the queries are made of (:func:`condition_query`; a spatial one alone serves as audio and text
        #: query, and the swap query is another target's)
        self.condition, self.cloud_points = condition, cloud_points
        self.items = [(row, k) for row in rows for k, e in enumerate(row["events"]) if e["role"] == "target"]
        self.swap = [swap_partner(self.items, i) for i in range(len(self.items))]
        self.holder = _RendererHolder([str(p) for p in bank_paths])
        self.table = table
        self.n_channels = n_channels

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        row, k = self.items[index]
        rendered = self.holder.renderer.render(row)
        t = [i for i, e in enumerate(row["events"]) if e["role"] == "target"].index(k)
        ev = row["events"][k]
        partner_row, partner_k = self.items[self.swap[index]]
        partner = partner_row["events"][partner_k]
        banks, embedded = self.holder.renderer.banks, "embedding" in self.condition

        def query(r: dict, j: int, embedding: np.ndarray | None) -> np.ndarray:
            return condition_query(self.condition, r, j, banks, self.cloud_points, embedding)

        audio_q = query(row, k, self.table.audio_of(audio_query_ref(ev)) if embedded else None)
        text_q = query(row, k, self.table.text[ev["query"]["text"]]) if embedded else audio_q
        swap_q = query(partner_row, partner_k, self.table.audio_of(audio_query_ref(partner)) if embedded else None)
        return {
            "key": f"{row['id']}/{k}",
            "mixture": torch.from_numpy(channels_of(rendered.mixture, self.n_channels)),
            "target": torch.from_numpy(rendered.references[t]["direct"]),
            "w": torch.from_numpy(np.ascontiguousarray(rendered.mixture[:, 0])),
            "audio_query": torch.from_numpy(np.asarray(audio_q, np.float32)),
            "text_query": torch.from_numpy(np.asarray(text_q, np.float32)),
            "swap_query": torch.from_numpy(np.asarray(swap_q, np.float32)),
        }


def swap_partner(items: list[tuple[dict, int]], index: int) -> int:
    """The first target from half-way round the list on whose class differs from item ``index``'s (itself if
    every target has its class)."""
    label = items[index][0]["events"][items[index][1]]["label"]
    n = len(items)
    for step in range(n // 2, n // 2 + n):
        j = (index + step) % n
        if items[j][0]["events"][items[j][1]]["label"] != label:
            return j
    return index
