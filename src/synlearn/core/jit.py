"""One place for the Numba options every kernel is compiled with.

Kernels are single-threaded (parallelism comes from Snakemake running jobs side by
side), release the GIL and are cached on disk.

``fastmath`` is off by default. The reservoir is chaotic: a rounding difference of one
ulp grows to an O(1) difference within a few hundred milliseconds of simulated time, so a
run must be bit-identical whether it is simulated alone or inside a batch. With
``contract`` or ``reassoc`` LLVM may fuse or reorder differently in the vectorised body
of a loop and in its scalar remainder, which breaks that. The hot loops vectorise
without fastmath because they run elementwise over the batch axis.

``error_model="numpy"``: a float division by zero gives inf or NaN (which the divergence
checks catch) instead of raising. Numba's default Python error model puts a zero test
before every division, and that test alone stops LLVM from vectorising a loop.

If a kernel ever needs fastmath, keep ``nnan``/``ninf`` out so NaN checks survive, and
never compile one Python function with two option sets: Numba's cache key ignores
``fastmath``, so the variants silently alias.
"""

from __future__ import annotations

import numba

def njit(*args, **kwargs):
    """``numba.njit`` with the project's options (cached, no GIL, no fastmath, NumPy errors)."""
    options = {"cache": True, "nogil": True, "fastmath": False, "error_model": "numpy"}
    options.update(kwargs)
    if args and callable(args[0]):
        return numba.njit(**options)(args[0])
    return numba.njit(*args, **options)
