"""HTTP security: the client's real address behind proxies, and the headers every response carries.

- A strict Content-Security-Policy: every asset is local and no page has inline script or style, so
  scripts, styles, fonts and media come from this site only, images from this site or data: URLs,
  and no page may be framed (admin and revoke forms cannot be clickjacked).
- nosniff, a same-origin Referrer-Policy, HSTS when the request came over https.
- `Cache-Control: no-store` on everything but static assets: pages, exports, PDFs and API answers
  carry personal data and must not stay in a shared ward computer's cache.
"""
from __future__ import annotations

from flask import abort, request
from werkzeug.routing import IntegerConverter

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "media-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HSTS = "max-age=31536000; includeSubDomains"


# Ids and numbers users can type stay within what every database column holds (PostgreSQL integer).
MAX_ID = 2**31 - 1


class BoundedInt(IntegerConverter):
    """`<int:…>` in a URL: a number too large for any id is simply not found (not a database error)."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 (Werkzeug's name)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def _reject_huge_numbers():
    if request.path.startswith("/api/"):
        return  # the API checks its own arguments and answers in JSON (422)
    """A query argument made of more digits than any id or page has is refused before a view sees it."""
    for value in request.args.values():
        digits = value.strip().lstrip("+-")
        if digits.isdigit() and len(digits) > 12:
            abort(400)


def init_app(app) -> None:
    app.url_map.converters["int"] = BoundedInt
    app.before_request(_reject_huge_numbers)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies)

    @app.after_request
    def security_headers(response):
        headers = response.headers
        # Every response passes here, the exam day's autosaves included: plain lookups, no parsing.
        present = {key.lower() for key, _value in headers.items()}
        for name, value in _ALWAYS:
            if name.lower() not in present:
                headers.add(name, value)
        if request.is_secure and "strict-transport-security" not in present:
            headers.add("Strict-Transport-Security", HSTS)
        # A view that declares its response public (lesson media: no personal data) keeps its caching.
        if request.endpoint != "static" and ("cache-control" not in present or not response.cache_control.public):
            headers["Cache-Control"] = "no-store"
            if "expires" in present:
                headers.pop("Expires", None)
        return response


_ALWAYS = (("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
           ("Referrer-Policy", "same-origin"), ("Cross-Origin-Opener-Policy", "same-origin"))
