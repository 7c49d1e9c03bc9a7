"""Every blueprint of the service, registered in one place."""

from __future__ import annotations

from flask import Flask

from .extensions import Api


def register_blueprints(app: Flask, api: Api) -> None:
    """Register the HTTP API and the operational pages."""
    from .accounts.views import blp as accounts_blp
    from .agents.views import blp as agents_blp
    from .documents.views import blp as documents_blp
    from .exports.views import blp as exports_blp
    from .ops.views import blp as ops_blp
    from .ops.views import dev_blp
    from .portal import blp as portal_blp
    from .profiles.views import blp as profiles_blp
    from .requests.views import blp as requests_blp
    from .subjects.views import blp as subjects_blp

    api.register_blueprint(ops_blp)
    api.register_blueprint(accounts_blp)
    api.register_blueprint(profiles_blp)
    api.register_blueprint(requests_blp)
    api.register_blueprint(documents_blp)
    api.register_blueprint(exports_blp)
    api.register_blueprint(subjects_blp)
    api.register_blueprint(agents_blp)
    app.register_blueprint(portal_blp)  # plain Flask: the portal is not in the OpenAPI document
    if app.config["CATALOGUE_SETTINGS"].embedded:
        app.register_blueprint(dev_blp)
