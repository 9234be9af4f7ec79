"""The centre's rules, with no web in them: orders, pickup, walk-in sales, households,
the catalog, staff and sign-in, packing, the day's figures, the co-op loop (supply/)
and the WeChat paste (wechat/). Built on edge.store; the web layer (edge.web) calls in."""
