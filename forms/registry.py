"""The catalogue: every form by slug, and the catalogues › categories › items clients browse."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from . import (
    add_relation,
    remove_relation,
    send_linking_credentials,
    update_contact,
    update_contact_address,
    update_organisation,
    update_organisation_address,
)
from .base import FormDefinition

__all__ = ["REGISTRY", "UnknownForm", "catalogue", "contacts_named", "get", "popular", "require"]

# In the order the catalogue lists them.
_FORMS: tuple[FormDefinition, ...] = (
    add_relation.FORM,
    remove_relation.FORM,
    update_contact.FORM,
    update_contact_address.FORM,
    update_organisation.FORM,
    update_organisation_address.FORM,
    send_linking_credentials.FORM,
)

REGISTRY: Mapping[str, FormDefinition] = MappingProxyType({f.slug: f for f in _FORMS})


class UnknownForm(LookupError):
    """No form has this slug."""

    status = 404

    def __init__(self, slug: str) -> None:
        self.slug = slug
        super().__init__(f"Formulaire inconnu : {slug}.")


def get(slug: str) -> FormDefinition | None:
    """The form called ``slug``, or ``None``."""
    return REGISTRY.get(slug)


def require(slug: str) -> FormDefinition:
    """The form called ``slug``; :class:`UnknownForm` (a ``LookupError``) otherwise."""
    form = REGISTRY.get(slug)
    if form is None:
        raise UnknownForm(slug)
    return form


def _item(form: FormDefinition, lang: str) -> dict[str, Any]:
    return {
        "slug": form.slug,
        "title": form.title(lang),
        "description": form.description(lang),
        "popular": form.popular,
    }


def catalogue(lang: str = "fr") -> list[dict[str, Any]]:
    """``[{code, label, categories: [{code, label, items: [{slug, title, description,
    popular}]}]}]``, in registry order."""
    en = lang == "en"
    catalogues: dict[str, dict[str, Any]] = {}
    for form in _FORMS:
        cat = catalogues.setdefault(
            form.catalogue,
            {
                "code": form.catalogue,
                "label": form.catalogue_label_en if en else form.catalogue_label_fr,
                "categories": {},
            },
        )
        category = cat["categories"].setdefault(
            form.category,
            {
                "code": form.category,
                "label": form.category_label_en if en else form.category_label_fr,
                "items": [],
            },
        )
        category["items"].append(_item(form, lang))
    return [{**c, "categories": list(c["categories"].values())} for c in catalogues.values()]


def popular(lang: str = "fr") -> list[dict[str, Any]]:
    """The *Éléments populaires* of the catalogue page."""
    return [_item(f, lang) for f in _FORMS if f.popular]


def contacts_named(variables: Any, *extra: int | None) -> set[int]:
    """The existing contacts a submission is about (its view of the profile is scoped to them):
    ``contact_id``, and each of ``contact_ids`` (the bulk sending of linking credentials)."""
    if not isinstance(variables, dict):
        return {i for i in extra if isinstance(i, int)}
    many = variables.get("contact_ids")
    named = {variables.get("contact_id"), *(many if isinstance(many, list) else ()), *extra}
    return {i for i in named if isinstance(i, int) and not isinstance(i, bool)}
