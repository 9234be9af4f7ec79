"""Keep a long-running box's memory near its idle size.

Each PIN check (argon2) takes 19 MiB. glibc serves the first such block with
mmap and returns it on free, but then raises its mmap threshold, so later
checks are carved from a thread's heap arena and kept: a few sign-ins from
worker threads grew an idle centre from 72 MB to 111 MB. Fixing the threshold
keeps big blocks on mmap, returned to the system when freed.

A hub is the other way round: every push allocates and frees blocks of 128 KiB to a
few MiB (its body, the inflated JSON, its rows laid out, a decode process's answer),
and each one mapped and unmapped cost page faults and zeroed pages again: about a
twentieth of a busy SQLite hub's CPU, in the kernel. So a hub keeps blocks under
`HUB_MMAP_THRESHOLD_BYTES` in its heaps, and up to `HUB_TRIM_THRESHOLD_BYTES` of
free heap before it gives any back; a sign-in's 19 MiB still goes back at once.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("linli")

M_TRIM_THRESHOLD = -1  # from glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's starting value, now held fixed
# Measured on 50 pushes of 1,280 changes (`bench/hub_scale.py`, three rounds each):
# the SQLite hub's CPU 2.05 / 2.20 / 2.16 s with the centre's setting, 1.74 / 1.99 /
# 1.89 s with these; its RSS after the pushes 178-183 MB either way.
HUB_MMAP_THRESHOLD_BYTES = 16 << 20
HUB_TRIM_THRESHOLD_BYTES = 64 << 20


def return_big_blocks_to_os(
    mmap_threshold: int = MMAP_THRESHOLD_BYTES, trim_threshold: int | None = None
) -> bool:
    """True if set; False where the C library is not glibc (nothing to do there).
    `trim_threshold`: free heap kept before any is given back (glibc's own if None)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold))
    if ok and trim_threshold is not None:
        ok = bool(mallopt(M_TRIM_THRESHOLD, trim_threshold))
    if not ok:
        log.warning("mallopt(M_MMAP_THRESHOLD) refused; memory may grow after sign-ins")
    return ok
