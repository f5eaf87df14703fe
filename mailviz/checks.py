"""One switch for the argument checks that cost a host synchronisation on the hot path.

Most argument checks in mailviz look at shapes, dtypes and Python numbers: they are free. A few
look at tensor *contents* — "is ``x`` inside [0, 1]?" (:func:`mailviz.attacks.pgd` and the other
attacks), "are these weights finite and non-negative?" (:func:`mailviz.weights.normalize`), "is κ
inside [0, K]?" (GAIRAT's weights), "is a per-example ε inside (0, 1]?". To turn such an answer
into a Python ``bool`` the CPU has to wait until the GPU has computed it: one host sync per check,
a few per training step. On the CPU they cost next to nothing; on a GPU each stalls the queue of
launched kernels (``benchmarks/gpu_check.py`` measures how much).

:func:`skip_host_syncs` turns those content checks off while its block runs::

    from mailviz import checks

    with checks.skip_host_syncs():          # trusted inputs only
        out = objective.loss(model, xb, yb, epoch=epoch)

The trainer does this for the whole run when the environment variable ``MAILVIZ_SKIP_CHECKS=1``
is set (it is not part of the config, so the cache key does not change).

**Trusted inputs only.** Skipping changes no result on valid inputs (same numbers, bit for bit);
it only removes the early, readable error on invalid ones. With the checks skipped, pixels outside
[0, 1], a NaN weight or a label out of range are no longer reported and can silently corrupt a
run (NaN losses, a wrong ε-ball). Skip them when the inputs come from a pipeline that is already
known to be valid — e.g. a training loop over a dataset that has been checked once — never for
user-supplied tensors in a notebook. Checks on shapes, dtypes and Python numbers stay on, since
they cost no sync.

The switch is one process-wide flag (not per thread); the context manager restores the previous
state on exit, also when its block raises, so blocks nest.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["enabled", "skip_host_syncs"]

_enabled = True


def enabled() -> bool:
    """Whether checks of tensor contents (the ones that cost a host sync) run; True by default.

    Example:
        >>> enabled()
        True
        >>> with skip_host_syncs():
        ...     enabled()
        False
    """
    return _enabled


@contextlib.contextmanager
def skip_host_syncs() -> Iterator[None]:
    """Skip the tensor-content checks (host syncs) inside the block; for trusted inputs only.

    Results on valid inputs are identical with and without the block; invalid inputs are no
    longer reported (see the module docstring). The previous state is restored on exit.
    """
    global _enabled
    previous = _enabled
    _enabled = False
    try:
        yield
    finally:
        _enabled = previous
