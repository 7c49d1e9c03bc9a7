"""French messages for validation errors, shared by the forms and the HTTP API."""

from __future__ import annotations

import re

REQUIRED = "Ce champ est obligatoire."
UNKNOWN = "Champ inconnu : il ne fait pas partie du formulaire."
NULL = "Ce champ ne peut pas être vide."

_EXACT = {
    "Missing data for required field.": REQUIRED,
    "Unknown field.": UNKNOWN,
    "Field may not be null.": NULL,
    "Not a valid string.": "Doit être une chaîne de caractères.",
    "Not a valid integer.": "Doit être un nombre entier.",
    "Not a valid number.": "Doit être un nombre.",
    "Not a valid boolean.": "Doit être vrai ou faux.",
    "Not a valid date.": "Date invalide (format attendu : AAAA-MM-JJ).",
    "Not a valid datetime.": "Date et heure invalides (format ISO 8601 attendu).",
    "Not a valid email address.": "Adresse courriel invalide.",
    "Not a valid list.": "Doit être une liste.",
    "Not a valid mapping type.": "Doit être un objet.",
    "Invalid input type.": "Type de donnée invalide.",
    "Invalid value.": "Valeur invalide.",
    "Not a valid UUID.": "Identifiant invalide.",
    "Shorter than minimum length 1.": "Ce champ ne peut pas être vide.",
}

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Must be one of: (.*)\.$"), "Doit être l'une des valeurs suivantes : {0}."),
    (re.compile(r"^Length must be between (\d+) and (\d+)\.$"), "La longueur doit être entre {0} et {1}."),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"), "Doit compter au moins {0} caractères."),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), "Doit compter au plus {0} caractères."),
    (re.compile(r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"),
     "Doit être entre {0} et {1}."),
    (re.compile(r"^Must be greater than or equal to (\S+)\.$"), "Doit être supérieur ou égal à {0}."),
    (re.compile(r"^Must be less than or equal to (\S+)\.$"), "Doit être inférieur ou égal à {0}."),
    (re.compile(r"^String does not match expected pattern\.$"), "Format invalide."),
]


def translate(message: str) -> str:
    """The French form of one of marshmallow's default English messages (others unchanged)."""
    if message in _EXACT:
        return _EXACT[message]
    for pattern, template in _PATTERNS:
        match = pattern.match(message)
        if match:
            return template.format(*match.groups())
    return message


def translate_errors(errors: object) -> dict[str, list[str]]:
    """Flatten marshmallow's nested error dict to ``{"a.b.0.c": [French messages]}``."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else str(key), value)
        elif isinstance(node, list | tuple):
            if all(isinstance(item, str) for item in node):
                flat.setdefault(prefix or "_schema", []).extend(translate(m) for m in node)
            else:
                for item in node:
                    walk(prefix, item)
        elif isinstance(node, str):
            flat.setdefault(prefix or "_schema", []).append(translate(node))

    walk("", errors)
    return flat
