"""What every trainable separator shares: the config dataclass behaviour and the model's input contract."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

from torch import Tensor, nn

C = TypeVar("C", bound="ConfigMixin")


class ConfigMixin:
    """``to_dict`` (tuples as lists, for JSON), ``from_dict`` (refusing unknown fields) and ``replace`` for a
    frozen config dataclass."""

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls: type[C], d: dict[str, Any]) -> C:
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
        return cls(**d)

    def replace(self: C, **overrides: Any) -> C:
        return dataclasses.replace(self, **overrides)


def resolve_config(config: Any, overrides: dict[str, Any], get_config: Callable[..., Any]) -> Any:
    """A model's config from a preset name (``get_config(name, **overrides)``) or a config object with
    ``overrides`` replaced."""
    if isinstance(config, str):
        return get_config(config, **overrides)
    return config.replace(**overrides) if overrides else config


class SeparatorModel(nn.Module):
    """Base of the trainable separators: ``forward(mixture (B, n_channels, L), query (B, query_dim))``."""

    config: Any

    def num_parameters(self, trainable_only: bool = False) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def check_inputs(self, mixture: Tensor, query: Tensor) -> None:
        """Clear errors for a mixture or query of the wrong shape."""
        cfg = self.config
        if mixture.dim() != 3 or mixture.shape[1] != cfg.n_channels:
            raise ValueError(f"mixture must be (B, {cfg.n_channels}, L), got {tuple(mixture.shape)}")
        condition = getattr(cfg, "condition", "embedding")
        shape = cfg.query_shape(mixture.shape[0]) if hasattr(cfg, "query_shape") else (mixture.shape[0], cfg.query_dim)
        what = {"pointcloud": "point-cloud query (x, y, z, valid)", "direction": "direction query (azimuth, elevation)",
                "region": "region query (azimuth, elevation, size, box)",
                "embedding+direction": "query (embedding, azimuth, elevation)"}.get(condition, "query")  # fmt: skip
        if tuple(query.shape) != shape:
            raise ValueError(f"{what} must be {shape}, got {tuple(query.shape)}")
