"""Ray as foabench's distributed engine: an ordered map of a per-item job over Ray tasks.

Each task runs ``call(state, item)`` for one item (for rendering: one manifest row). The state is built once per
Ray worker process by ``setup(*setup_args)`` (for rendering: a :class:`foabench.synth.scenes.render.Renderer` over the
banks) and kept there for the next tasks, so its caches of decoded audio and RIR spectra keep serving; Ray reuses its
worker processes across tasks and across maps. At most ``workers`` tasks run at once, and results come back to
the driver in input order with a bounded number of items outstanding, whatever the input size. Tasks return
encoded bytes and the driver writes every file, so outputs need no storage shared with the workers. The
workers do need the banks at the same absolute paths as the driver (a shared file system, or the same copy on
every node) and foabench importable in the same Python environment.

``address=None`` starts a private local Ray instance with ``workers`` CPUs (``ray.init(address="local")``);
``"auto"`` joins the cluster this machine belongs to (``ray start --head`` / ``ray start --address=HEAD:6379``);
``"ray://HEAD:10001"`` connects through Ray Client. Ray is imported only here, only when used.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any


def _ray():
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - ray is a declared dependency
        raise RuntimeError("the ray engine needs Ray: pip install 'ray>=2.40'") from exc
    return ray


@contextmanager
def ray_session(address: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """Connect to Ray (or start a local instance), yield the ``ray`` module, and shut down what was started.

    An already initialised Ray (e.g. a caller's ``ray.init``) is used as it is and left running."""
    ray = _ray()
    if ray.is_initialized():
        yield ray
        return
    if address:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    else:
        ray.init(address="local", num_cpus=workers or os.cpu_count() or 1, include_dashboard=False,
                 log_to_driver=False)  # fmt: skip
    try:
        yield ray
    finally:
        ray.shutdown()


_STATE: dict[str, Any] = {}


def _state(setup: Callable[..., Any], args: tuple) -> Any:
    """This process's state for ``setup(*args)``: built on first use, kept until a different job needs another."""
    key = repr((setup.__module__, setup.__qualname__, args))
    if _STATE.get("key") != key:
        _STATE.clear()
        _STATE["value"] = setup(*args)
        _STATE["key"] = key
    return _STATE["value"]


def _run(setup: Callable[..., Any], args: tuple, call: Callable[[Any, Any], Any], item: Any) -> Any:
    """The task body: ``call(state, item)`` with this worker process's state."""
    return call(_state(setup, args), item)


def _unwrap(exc: Exception) -> Exception:
    """The worker's own exception (e.g. an InputError naming a changed bank file) rather than Ray's wrapper."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, Exception) else exc


def cluster_cpus(ray) -> int:
    """CPUs of the connected cluster (at least 1)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def ray_map(
    setup: Callable[..., Any],
    call: Callable[[Any, Any], Any],
    items: Iterable[Any],
    *,
    setup_args: tuple = (),
    workers: int | None = None,
    address: str | None = None,
    window: int | None = None,
) -> Iterator[Any]:
    """Yield ``call(state, item)`` for each item, in order, computed by at most ``workers`` concurrent Ray tasks.

    ``setup`` and ``call`` must be module-level functions (workers import them). ``workers`` defaults to the
    CPUs of the cluster; ``window`` (default ``4 * workers``) bounds the items submitted but not yet yielded.
    Ray is started and shut down around the map unless the caller already initialised it."""
    with ray_session(address, workers) as ray:
        n = workers or cluster_cpus(ray)
        limit = max(n, window or 4 * n)
        task = ray.remote(num_cpus=1)(_run)
        todo = enumerate(items)
        pending: dict[Any, int] = {}  # in flight: object ref -> item position
        done: dict[int, Any] = {}  # finished, waiting for an earlier item
        next_out, exhausted = 0, False
        try:
            while True:
                while not exhausted and len(pending) < n and len(pending) + len(done) < limit:
                    try:
                        pos, item = next(todo)
                    except StopIteration:
                        exhausted = True
                        break
                    pending[task.remote(setup, setup_args, call, item)] = pos
                if next_out in done:
                    yield done.pop(next_out)
                    next_out += 1
                    continue
                if not pending:
                    return
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    pos = pending.pop(ref)
                    try:
                        done[pos] = ray.get(ref)
                    except ray.exceptions.RayTaskError as exc:
                        raise _unwrap(exc) from None
        finally:
            for ref in pending:
                ray.cancel(ref)
