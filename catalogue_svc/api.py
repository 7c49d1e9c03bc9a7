"""Every blueprint of the service, registered in one place."""

from __future__ import annotations

from flask import Flask

from .extensions import Api


def register_blueprints(app: Flask, api: Api) -> None:
    """Register the HTTP API and the operational pages."""
    from .ops.views import blp as ops_blp
    from .ops.views import dev_blp

    api.register_blueprint(ops_blp)
    if app.config["CATALOGUE_SETTINGS"].embedded:
        app.register_blueprint(dev_blp)
