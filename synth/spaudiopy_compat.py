"""spaudiopy on current SciPy.

spaudiopy 0.2 evaluates its spherical harmonics with ``scipy.special.sph_harm(m, n, azimuth, polar)``, which
SciPy 1.17 removed in favour of ``sph_harm_y(n, m, polar, azimuth)``. :func:`import_spaudiopy` adds the old
name (with its old argument order, on top of the new function) when it is missing, then imports spaudiopy with
its import-time messages (no sound device here) silenced.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from types import ModuleType


def _install_sph_harm() -> None:
    import scipy.special

    if not hasattr(scipy.special, "sph_harm"):
        new = scipy.special.sph_harm_y

        def sph_harm(m, n, azimuth, polar):
            return new(n, m, polar, azimuth)

        scipy.special.sph_harm = sph_harm


def import_spaudiopy() -> ModuleType:
    """The ``spaudiopy`` module, usable on this SciPy."""
    _install_sph_harm()
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        import spaudiopy
    return spaudiopy
