"""The bottom of the centre (and of the hub, which keeps its merged store the same way):
the SQLite file and the one writer (`database`), the change log every write appends to
(`changelog`), the hybrid logical clock that orders changes (`hlc`), ids (`ids`) and the
schema (`migrations`, `supply_schema`). Nothing here imports the domain, the web or sync.
"""

from edge.store.database import (
    BUSY_TIMEOUT_MS,
    STORAGE_FAULTS,
    Store,
    Tx,
    connect,
    get_meta,
    open_db,
    open_store,
    set_meta,
    storage_fault,
)

__all__ = [
    "BUSY_TIMEOUT_MS",
    "STORAGE_FAULTS",
    "Store",
    "Tx",
    "connect",
    "get_meta",
    "open_db",
    "open_store",
    "set_meta",
    "storage_fault",
]
