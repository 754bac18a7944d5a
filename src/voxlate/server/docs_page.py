"""`/docs`: the API reference as one self-contained HTML page (no scripts, no CDN).

FastAPI's default Swagger UI loads its JavaScript and CSS from a CDN; this page is
rendered on the server from the app's OpenAPI schema instead, so it works offline and
leaks nothing to a third party. It is protected by the token like `/v1`.
"""

from __future__ import annotations

import html
from typing import Any


def render_docs(schema: dict[str, Any]) -> str:
    """An HTML page listing every path and method of `schema` with its description."""
    info = schema.get("info", {})
    rows = []
    for path, methods in sorted(schema.get("paths", {}).items()):
        for method, op in methods.items():
            doc = (op.get("description") or op.get("summary") or "").strip()
            rows.append(
                f"<h2><code>{html.escape(method.upper())} {html.escape(path)}</code></h2>"
                f"<pre>{html.escape(doc)}</pre>"
            )
    title = html.escape(str(info.get("title", "API")))
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{title} API</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "pre{white-space:pre-wrap;background:#f4f4f4;padding:.5em}</style></head><body>"
        f"<h1>{title} API</h1><p>The machine-readable schema is at "
        "<code>/openapi.json</code> (same token). The WebSocket protocol of "
        "<code>/v1/live</code> is described in docs/live.md.</p>" + "".join(rows) + "</body></html>"
    )
