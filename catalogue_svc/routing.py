"""URL rules whose builders are written when first used (``url_for``), not as the app is built.

werkzeug writes and compiles two small Python functions for each rule as it is added, to build
that rule's URLs: about half of ``create_app``'s time for the service's fifty rules, paid by each
gunicorn worker, each RQ worker and each test's app. The service builds URLs from a handful of
rules (the OpenAPI document's page, a few links), so each builder is written the first time its
rule builds a URL, and kept. Matching requests is untouched: the rule's parts and the router's
state machine are made as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing import Rule as _Rule


class Rule(_Rule):
    """werkzeug's rule, its URL builders compiled on first use."""

    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        compile_now = super()._compile_builder
        compiled: list[Callable[..., tuple[str, str]]] = []

        def build(rule: Rule, *args: Any, **kwargs: Any) -> tuple[str, str]:
            if not compiled:  # two threads at once both compile the same function: harmless
                compiled.append(compile_now(append_unknown))
            return compiled[0](rule, *args, **kwargs)

        return build
