"""catalogue_svc: the service behind the online-services catalogue (forms, requests, profiles)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from .config import ENV_KEYS, environment, load_settings

__all__ = ["create_app"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application.

    ``config`` may hold environment-style settings (``DATABASE_URL``, ``REDIS_URL``…), which win
    over the process environment, and any Flask config key (``TESTING``…).
    """
    config = dict(config or {})
    settings = load_settings(environment(config))

    from .routing import Rule

    app = Flask(__name__, instance_path=settings.instance_path)
    app.url_rule_class = Rule
    app.config.update(
        API_TITLE="catalogue_svc",
        API_VERSION="1.0",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        SESSION_COOKIE_NAME="catalogue_session",
        JSON_SORT_KEYS=False,
        CATALOGUE_QUEUE_MODE="thread" if settings.embedded else "rq",
    )
    app.config.update(settings.as_flask_config())
    app.config.update({k: v for k, v in config.items() if k not in ENV_KEYS})
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    if settings.database_url.startswith("sqlite:///"):
        os.makedirs(
            os.path.dirname(settings.database_url[len("sqlite:///") :]) or ".", exist_ok=True
        )

    from . import errors, logs, transports, web
    from .db import db
    from .extensions import api

    logs.init_app(app)
    db.init_app(app)
    api.init_app(app)
    errors.init_app(app)
    transports.init_app(app)

    from . import models  # noqa: F401 - every table is known to the metadata
    from .accounts import init_app as init_accounts
    from .api import register_blueprints
    from .cli import register_commands
    from .duplicates import init_app as init_duplicates
    from .notifications import service as notifications
    from .ops import metrics
    from .requests import service as requests
    from .sla import escalation as sla_escalation

    metrics.init_app(app)
    web.init_app(app)  # after the metrics' timer, before the blueprints' routes
    notifications.init_app(app)
    init_duplicates(app)
    requests.init_app(app)
    sla_escalation.init_app(app)
    init_accounts(app)
    register_blueprints(app, api)
    register_commands(app)

    from . import jobs

    jobs.init_app(app)  # last: the embedded thread may run jobs at once, on a complete app
    return app
