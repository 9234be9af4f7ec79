"""Keep a long-running box's memory near its idle size.

Each PIN check (argon2) takes 19 MiB. glibc serves the first such block with
mmap and returns it on free, but then raises its mmap threshold, so later
checks are carved from a thread's heap arena and kept: a few sign-ins from
worker threads grew an idle centre from 72 MB to 111 MB. Fixing the threshold
keeps big blocks on mmap, returned to the system when freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("linli")

M_MMAP_THRESHOLD = -3  # from glibc's malloc.h
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's starting value, now held fixed


def return_big_blocks_to_os() -> bool:
    """True if set; False where the C library is not glibc (nothing to do there)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    if not ok:
        log.warning("mallopt(M_MMAP_THRESHOLD) refused; memory may grow after sign-ins")
    return ok
