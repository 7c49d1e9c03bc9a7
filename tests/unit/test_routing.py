"""The service's URL rules build their URLs on first use exactly as werkzeug's own would."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter, Map
from werkzeug.routing import Rule as PlainRule

from catalogue_svc.routing import Rule


def test_every_rule_builds_the_urls_werkzeug_builds(app):
    """Each rule of the app, with its arguments and with an unknown one (a query string), builds
    the URL a plain werkzeug rule builds; the first build and the next agree."""
    assert app.url_rule_class is Rule
    plain = Map(converters=app.url_map.converters)
    for rule in app.url_map.iter_rules():
        plain.add(PlainRule(rule.rule, endpoint=rule.endpoint, methods=rule.methods))
    ours, theirs = app.url_map.bind("example.org"), plain.bind("example.org")
    rules = list(app.url_map.iter_rules())
    assert len(rules) > 40
    for rule in rules:
        values = {
            name: 7 if isinstance(rule._converters[name], IntegerConverter) else "un/deux é"
            for name in rule.arguments
        }
        for extra in ({}, {"lang": "fr", "page": 2}):
            expected = theirs.build(rule.endpoint, {**values, **extra}, force_external=True)
            assert ours.build(rule.endpoint, {**values, **extra}, force_external=True) == expected
            assert ours.build(rule.endpoint, {**values, **extra}, force_external=True) == expected
