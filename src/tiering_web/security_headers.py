"""Response headers Django does not set by itself: a Content-Security-Policy on every
answer, and ``Cache-Control: no-store`` on every API answer.

The policy lets a page load scripts, styles, images, fonts and requests from this site only,
never be framed, and submit forms only to this site. Scripts are the strict part: an inline
``<script>`` runs only with the request's nonce (``{{ request.csp_nonce }}`` in a template),
and inline event handlers (``onchange="..."``) never run. Styles may be inline
(``'unsafe-inline'`` in ``style-src``): the templates' ``<style>`` blocks and ``style=""``
attributes, htmx's indicator styles and plotly.js's chart styles need it, and a style
cannot run code. Django 5.2 has no CSP of its own (6.0 adds one); this middleware is the
small piece until then.

The API's answers carry customers' contact data: ``no-store`` keeps them out of browser
and proxy caches, whatever a view set (error answers included).
"""

from __future__ import annotations

import secrets

from django.conf import settings


def content_security_policy(nonce: str) -> str:
    """The policy for a response whose inline scripts carry ``nonce``."""
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class ContentSecurityPolicyMiddleware:
    """Give each request a fresh nonce (``request.csp_nonce``) and each response the
    policy with it, unless the view already set its own."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(16)
        response = self.get_response(request)
        response.headers.setdefault(
            "Content-Security-Policy", content_security_policy(request.csp_nonce)
        )
        return response


class NoStoreApiMiddleware:
    """``Cache-Control: no-store`` on every answer under ``TIERING_API_PREFIX``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path_info.startswith(settings.TIERING_API_PREFIX):
            response.headers["Cache-Control"] = "no-store"
        return response
