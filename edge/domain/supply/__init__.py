"""The supply loop with the farmers' co-op: consolidated order out, goods in, leftovers back.

`consolidated` (the day's order, locked at cut-off, amended by number),
`receiving` (06:00: arrivals, shortages shared out to orders), `returns`
(noon: the return note), `reconciliation` (the day in quantities and fen).
`api.SUPPLY_CONTROLLERS` and `pages.SUPPLY_PAGE_HANDLERS` are what the
centre app mounts; `hub.supplier` is the co-op's side on the hub. Submodules are imported
where used (no re-exports): `edge.store.migrations` imports `schema` from here.
"""
