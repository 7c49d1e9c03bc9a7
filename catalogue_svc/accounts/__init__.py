"""Accounts: sign-up with an emailed one-time code, sessions and CSRF, linking to profiles,
and the account settings (password reset and changes, email change, unlinking)."""

from __future__ import annotations

from typing import Any

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the emails, the reset job, the rate limiter, the session and CSRF hooks, and the
    API docs."""
    from .. import ratelimit
    from ..extensions import api
    from . import sessions, settings
    from .templates import register_templates

    register_templates()
    settings.init_app(app)
    ratelimit.init_app(app)
    sessions.init_app(app)
    cookie = app.config["SESSION_COOKIE_NAME"]

    def security_schemes(spec: Any) -> None:
        schemes = spec.components.security_schemes
        if "sessionCookie" not in schemes:
            spec.components.security_scheme(
                "sessionCookie",
                {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": cookie,
                    "description": "Témoin de session posé par POST /api/session",
                },
            )
        if "csrfToken" not in schemes:
            spec.components.security_scheme(
                "csrfToken",
                {
                    "type": "apiKey",
                    "in": "header",
                    "name": sessions.CSRF_HEADER,
                    "description": "Jeton renvoyé par GET /api/session; exigé sur tout appel "
                    "qui modifie quelque chose (POST, PUT, PATCH, DELETE)",
                },
            )

    api.describe(security_schemes)
