"""The co-op's side of the hub: supplier accounts and the API under /supplier/v1.

The co-op pulls one consolidated order per delivery day for all the centres
it supplies (JSON or CSV, with an ETag, so polling over a weak link costs a
304), prints a loading list per centre for the van, and sends back dispatch
notes, price lists and return-note confirmations. What it sends becomes
hub-owned rows written through the hub's change log (addressed by
`centre_id`), so they flow down to the centres like the district catalog.

**Least data (DESIGN invariant 8).** Every answer is built from explicit
allow-lists of columns below (`CENTRE_FIELDS`, `LINE_FIELDS`, …) read from
the supply tables and the order lines' product columns; no query here joins
`households`, and free text staff type (order notes, return-note remarks)
is never sent. A supplier sees quantities per centre and product, nothing
about a resident.

Accounts live in `supply_suppliers` (hub-local, never synced): a bearer
token is shown once at creation and stored as its SHA-256.

**Scoped to the centres it supplies.** `supply_supplier_centres` (the sync
schema's migration m102) lists the centres of each account, set when the
account is made (`linli hub add-supplier --centre ID ...`; without `--centre`,
every centre enrolled then) and changed with `linli hub supplier-centres`.
Every answer covers those centres only, and a dispatch note, price list or
return confirmation for another centre is a 403 naming it. A price list for
every centre (`centre_id` null) needs an account that supplies every enrolled
centre. A dispatch note for a centre and day is one co-op's: another co-op
supplying the same centre cannot supersede it (409).
"""

from hub.supplier.accounts import (
    Supplier,
    create_supplier,
    link_centres,
    supplied_centres,
    supplier_for,
)
from hub.supplier.api import SUPPLIER_HANDLERS, SupplierDep, loading_context, provide_supplier
from hub.supplier.inbound import add_dispatch_note, add_price_list, confirm_return
from hub.supplier.views import centres, consolidated, consolidated_csv, return_notes

__all__ = [
    "SUPPLIER_HANDLERS",
    "Supplier",
    "SupplierDep",
    "add_dispatch_note",
    "add_price_list",
    "centres",
    "confirm_return",
    "consolidated",
    "consolidated_csv",
    "create_supplier",
    "link_centres",
    "loading_context",
    "provide_supplier",
    "return_notes",
    "supplied_centres",
    "supplier_for",
]
