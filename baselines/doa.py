"""Candidate source directions from an AmbiX mixture alone (no oracle): a pseudo-intensity histogram.

Method (:func:`candidate_directions`):

1. STFT of the four channels; per bin the pseudo-intensity ``I = Re{conj(W) [X, Y, Z]}`` and energy density
   ``E = (|W|^2 + |X|^2 + |Y|^2 + |Z|^2) / 2``. For one plane wave in SN3D ``I = |s|^2 u`` points at the
   source and ``|I| = E``.
2. Optionally (``smooth_frames > 1``) ``I`` and ``E`` are averaged over consecutive frames per bin. The
   diffuseness is ``psi = 1 - |I| / E`` (DirAC-style, in ``[0, 1]`` since ``|Re{conj(W) V}| <= |W| |V| <=
   E``). It is 0 exactly when the bin is one plane wave (``V = u W`` for a real unit ``u``) and grows with
   diffuse sound and with several sources sharing the bin: two orthogonal plane waves of powers ``p, q``
   give ``1 - sqrt(p^2 + q^2) / (p + q)``, 0.29 when equal. Per-bin values (the default, no smoothing) work
   best here: averaging frames blends simultaneous sources, whose mean intensity points between them.
3. Voting bins: within ``[fmin, fmax]``, energy at least the median of the band (and within 60 dB of its
   maximum), and diffuseness at most ``max_diffuseness`` and at most the ``directness_quantile`` of those
   loud bins (the 5 % most direct by default; at least ``min_votes`` bins vote in any case). Each votes for
   the direction of ``I`` with weight ``1 - psi``. This relies on each source dominating some bins alone:
   true for sparse sources (speech, music, most events) and for two simultaneous broadband noises; three
   or more equal stationary broadband sources active at once defeat it (few bins are single-source).
4. Votes are histogrammed on a near-uniform Fibonacci grid (nearest grid point) and smoothed with a
   von Mises-Fisher kernel ``exp(kappa (g_i . g_j - 1))``, ``kappa = 1 / sigma^2``.
5. Local maxima of the smoothed histogram are taken greedily, strongest first, skipping any closer than
   ``min_separation_deg`` to one already taken, up to ``max_sources``. Each is refined off the grid by two
   mean-shift steps (the normalised weighted mean of the votes within ``refine_deg``).
6. A candidate's weight is its peak mass: the share of all votes within ``min_separation_deg / 2`` of it.

Silent input gives ``[]``; any other input gives at least one candidate (if no bin carries a direction, e.g.
a signal only in W, a single ``(0, 0, 0.0)``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.spatial import cKDTree

from foabench.baselines.spectral import HOP, N_FFT, as_foa, stft
from foabench.synth.foa import direction_of

_GOLDEN_ANGLE = np.pi * (3.0 - np.sqrt(5.0))


@lru_cache(maxsize=4)
def fibonacci_grid(count: int = 1000) -> np.ndarray:
    """``count`` near-uniform unit vectors ``(count, 3)`` on the sphere (Fibonacci lattice, equal-area rows)."""
    k = np.arange(count, dtype=np.float64)
    z = 1.0 - (2.0 * k + 1.0) / count
    r = np.sqrt(np.clip(1.0 - z * z, 0.0, None))
    phi = _GOLDEN_ANGLE * k
    grid = np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=-1)
    grid.setflags(write=False)
    return grid


@lru_cache(maxsize=4)
def _grid_tools(count: int, kernel_deg: float) -> tuple[cKDTree, np.ndarray, np.ndarray]:
    grid = fibonacci_grid(count)
    dots = grid @ grid.T
    kappa = 1.0 / np.radians(kernel_deg) ** 2
    kernel = np.exp(kappa * (dots - 1.0))
    spacing = np.sqrt(4.0 * np.pi / count)  # mean distance between grid neighbours, radians
    neighbours = dots >= np.cos(1.5 * spacing)
    return cKDTree(grid), kernel, neighbours


def _pseudo_intensity(x: np.ndarray, sample_rate: float, n_fft: int, hop: int, fmin: float, fmax: float,
                      smooth_frames: int = 1) -> tuple[np.ndarray, ...]:  # fmt: skip
    """Per STFT bin in ``[fmin, fmax]``: pseudo-intensity ``(3, F, T)`` (X, Y, Z), energy density, ``|I|`` and
    diffuseness (steps 1 and 2 of the module docstring)."""
    spec = stft(x, n_fft, hop)  # (4, F, T)
    freqs = np.arange(spec.shape[1]) * float(sample_rate) / n_fft
    band = (freqs >= fmin) & (freqs <= min(fmax, 0.5 * float(sample_rate)))
    if not np.any(band):
        band = np.ones_like(band)
    spec = spec[:, band]
    w = spec[0]
    vec = spec[[3, 1, 2]]  # X, Y, Z
    intensity = np.real(np.conj(w)[None] * vec)  # (3, F, T)
    energy = 0.5 * (np.abs(w) ** 2 + np.sum(np.abs(vec) ** 2, axis=0))
    if smooth_frames > 1:
        intensity = uniform_filter1d(intensity, smooth_frames, axis=-1, mode="nearest")
        energy = uniform_filter1d(energy, smooth_frames, axis=-1, mode="nearest")
    norm = np.linalg.norm(intensity, axis=0)
    psi = 1.0 - np.divide(norm, energy, out=np.zeros_like(norm), where=energy > 0)
    return intensity, energy, norm, np.clip(psi, 0.0, 1.0)


def direction_map(foa: np.ndarray, sample_rate: float, step_deg: float = 5.0, n_fft: int = N_FFT, hop: int = HOP,
                  fmin: float = 100.0, fmax: float = 8000.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Where the mixture's directional energy comes from: ``(map (n_el, n_az), az_edges, el_edges)`` in degrees.

    Every STFT bin in ``[fmin, fmax]`` adds its direct energy ``E (1 - psi)`` (``|I|``) at the direction of its
    pseudo-intensity, on an equal-angle azimuth/elevation grid of ``step_deg``; the map is scaled to a maximum
    of 1 (all zeros for silent or direction-less input). A plane wave puts all of it in its own cell."""
    az_edges = np.arange(-180.0, 180.0 + step_deg / 2, step_deg)
    el_edges = np.arange(-90.0, 90.0 + step_deg / 2, step_deg)
    x = as_foa(foa)
    grid = np.zeros((el_edges.size - 1, az_edges.size - 1))
    if not np.any(x):
        return grid, az_edges, el_edges
    intensity, _, norm, _ = _pseudo_intensity(x, sample_rate, n_fft, hop, fmin, fmax)
    keep = norm > 1e-12 * max(float(norm.max()), 1e-300)
    if not np.any(keep):
        return grid, az_edges, el_edges
    az, el, _ = direction_of(intensity[:, keep].T)
    grid, _, _ = np.histogram2d(np.asarray(el), np.asarray(az), bins=[el_edges, az_edges], weights=norm[keep])
    return grid / grid.max(), az_edges, el_edges


def candidate_directions(
    foa: np.ndarray,
    sample_rate: float,
    max_sources: int = 6,
    min_separation_deg: float = 25.0,
    n_fft: int = N_FFT,
    hop: int = HOP,
    *,
    fmin: float = 100.0,
    fmax: float = 8000.0,
    max_diffuseness: float = 0.5,
    smooth_frames: int = 1,
    kernel_deg: float = 5.0,
    grid_points: int = 1000,
    directness_quantile: float = 0.05,
    min_votes: int = 32,
    refine_deg: float = 8.0,
) -> list[tuple[float, float, float]]:
    """Up to ``max_sources`` candidate directions ``(az, el, weight)`` (degrees; weight = peak mass in
    ``[0, 1]``) of sources in AmbiX ``foa`` ``(4, L)``, heaviest first. See the module docstring.

    ``sample_rate`` only sets the analysis band ``[fmin, min(fmax, sample_rate / 2)]``; ``kernel_deg`` is the
    vMF kernel's width (``kappa = 1 / radians(kernel_deg)^2``) on a ``grid_points`` Fibonacci grid."""
    x = as_foa(foa)
    if not np.any(x):
        return []
    intensity, energy, norm, psi = _pseudo_intensity(x, sample_rate, n_fft, hop, fmin, fmax, smooth_frames)

    directional = norm > 1e-12 * max(float(norm.max()), 1e-300)
    if not np.any(directional):
        return [(0.0, 0.0, 0.0)]
    loud = directional & (energy >= max(float(np.median(energy)), 1e-6 * float(energy.max())))
    idx = np.flatnonzero(loud)
    if idx.size == 0:  # cannot happen (the loudest directional bin is loud), kept for safety
        idx = np.flatnonzero(directional)
    flat_psi = psi.reshape(-1)[idx]
    limit = max_diffuseness
    if directness_quantile < 1.0:
        limit = min(limit, float(np.quantile(flat_psi, directness_quantile)))
    chosen_bins = idx[flat_psi <= limit]
    if chosen_bins.size < min_votes:  # too few clean bins: the most direct ones vote anyway
        chosen_bins = idx[np.argsort(flat_psi, kind="stable")[:min_votes]]
    keep = np.zeros(psi.size, dtype=bool)
    keep[chosen_bins] = True
    keep = keep.reshape(psi.shape)
    votes = (intensity[:, keep] / norm[keep]).T  # (n, 3)
    weights = np.maximum(1.0 - psi[keep], 1e-6)

    tree, kernel, neighbours = _grid_tools(int(grid_points), float(kernel_deg))
    grid = fibonacci_grid(int(grid_points))
    _, nearest = tree.query(votes)
    hist = np.bincount(nearest, weights=weights, minlength=grid.shape[0])
    smooth = kernel @ hist
    is_peak = (smooth > 0) & np.all((smooth[None, :] <= smooth[:, None]) | ~neighbours, axis=1)
    order = np.argsort(-smooth[np.flatnonzero(is_peak)], kind="stable")
    peaks = np.flatnonzero(is_peak)[order]

    cos_sep = np.cos(np.radians(min_separation_deg))
    cos_half = np.cos(np.radians(0.5 * min_separation_deg))
    cos_refine = np.cos(np.radians(min(0.5 * min_separation_deg, refine_deg)))
    total = float(weights.sum())
    chosen: list[np.ndarray] = []
    for p in peaks:
        if len(chosen) >= max_sources:
            break
        centre = grid[p]
        if any(float(centre @ c) > cos_sep for c in chosen):
            continue
        for _ in range(2):
            near = (votes @ centre) >= cos_refine
            if not np.any(near):
                break
            mean = weights[near] @ votes[near]
            length = float(np.linalg.norm(mean))
            if length == 0.0:
                break
            centre = mean / length
        if any(float(centre @ c) > cos_sep for c in chosen):
            continue
        chosen.append(centre)
    out = []
    for c in chosen:
        mass = float(weights[(votes @ c) >= cos_half].sum()) / total
        az, el, _ = direction_of(c)
        out.append((float(az), float(el), mass))
    out.sort(key=lambda t: -t[2])
    return out if out else [(0.0, 0.0, 0.0)]
