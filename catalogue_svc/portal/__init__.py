"""The thin portal: one static page and its assets, talking only to the JSON API.

No build step: ``static/index.html``, ``static/app.js`` (an ES module, hash routing) and
``static/app.css`` are served as they are by :mod:`catalogue_svc.portal.views`, outside the
OpenAPI document.
"""

from __future__ import annotations

from .views import blp

__all__ = ["blp"]
