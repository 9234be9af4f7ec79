"""The centre's web layer: the app factory (app.py), the JSON API (api/), the tablet
pages (pages/), and what they share (shared.py: who is asking, errors mapped once;
forms, security headers, OpenAPI error answers, CSV). It calls into edge.domain."""
