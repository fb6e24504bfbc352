"""Process memory during training: give freed tensors back to the operating system, and read the peak.

PyTorch has no caching allocator on the CPU: a tensor's buffer comes from the C library (``posix_memalign``, 64-byte
aligned) and goes back with ``free``. glibc serves large blocks with ``mmap`` (unmapped again on ``free``) only above a
threshold that it raises, up to 32 MiB, each time such a block is freed; after the first few frees every activation of
a small model (SmolLM2-135M: 4.5-12 MiB per tensor at 2 x 1,024 tokens) comes from the heap instead. There a freed
tensor's hole is not reused for the next tensor of the same size (an aligned request needs a little more than the
hole, whose edges are held by small freed pieces in glibc's per-thread cache), so the heap keeps growing while most of
it is free: after one checkpointed forward pass of 8 layers, 225 MiB in use in a 1,200 MiB heap. On the default
model with gradient checkpointing (2 x 1,024 tokens) the resident peak of one micro-batch was 3,975 MiB with the
sliding threshold and 1,389 MiB with a fixed one; the demo recipe's 3-step run 7,373 vs 1,607 MiB (BENCHMARKS.md).
:func:`return_freed_memory` fixes the threshold at 1 MiB through ``mallopt`` (which also stops the sliding). The price
is fresh zeroed pages for every large tensor: 7.5 M page faults per micro-batch, ~1.3x the step time on 2 cores.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import sys

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number (malloc.h)
MMAP_THRESHOLD_BYTES = 1 << 20
USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")


def return_freed_memory(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Serve every ``malloc`` of ``threshold`` bytes or more with its own ``mmap`` from now on, so that a freed
    tensor leaves the process. Linux with glibc only; does nothing (returns False) elsewhere, or when the user set
    glibc's own ``MALLOC_*_`` variables, which win. Returns whether the setting was applied."""
    if not sys.platform.startswith("linux") or any(name in os.environ for name in USER_SETTINGS):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other C libraries have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, threshold))


def peak_rss_bytes() -> int:
    """The largest resident set this process has had (``ru_maxrss``: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024
