"""One value a choice field accepts (:class:`Choice`), apart from the forms' machinery so that
the choices filled from a profile (``forms.choices``) and the forms (``forms.base``) both build
on it without importing each other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def lang_of(lang: str) -> str:
    """``en`` or ``fr`` (anything else reads as French)."""
    return "en" if lang == "en" else "fr"


@dataclass(frozen=True)
class Choice:
    """One value a choice field accepts, with its labels.

    ``group`` sorts choices under a heading (a subject's category); ``parent`` is the value of
    the field named by :attr:`Field.choices_depend_on` for which this choice is offered (the
    relations of *this* contact, the subjects the firm holds on *this* client); ``help_fr`` and
    ``help_en`` say more of the choice beside it (what a subject allows).
    """

    value: str | int | bool
    label_fr: str
    label_en: str
    group: str | None = None
    group_label_fr: str | None = None
    group_label_en: str | None = None
    parent: int | str | None = None
    help_fr: str | None = None
    help_en: str | None = None

    def label(self, lang: str) -> str:
        """The label in ``lang``."""
        return self.label_en if lang_of(lang) == "en" else self.label_fr

    def describe(self, lang: str) -> dict[str, Any]:
        """JSON-able description for clients."""
        out: dict[str, Any] = {"value": self.value, "label": self.label(lang)}
        if self.group is not None:
            out["group"] = self.group
            out["group_label"] = (
                self.group_label_en if lang_of(lang) == "en" else self.group_label_fr
            ) or self.group
        if self.parent is not None:
            out["parent"] = self.parent
        text = self.help_en if lang_of(lang) == "en" else self.help_fr
        if text:
            out["help"] = text
        return out
