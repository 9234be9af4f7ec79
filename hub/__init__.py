"""The hub: the district's merged store and the application on it.

`app` (create_hub_app: the sync server routes, the Hub that applies batches), `pages`
(operator pages and their JSON twin), `reconciliation` (the day in fen per centre),
`supplier` (the co-op's API), `cli` (`linli hub ...`). The hub uses `sync`, `edge.store`
and shared web helpers of `edge`; nothing but the `linli` command imports the hub.
"""
