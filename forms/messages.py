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
    "Not a valid utf-8 string.": "Doit être un texte en UTF-8 valide.",
    "Not a valid integer.": "Doit être un nombre entier.",
    "Not a valid number.": "Doit être un nombre.",
    "Number too large.": "Nombre trop grand.",
    "Special numeric values (nan or infinity) are not permitted.": (
        "Doit être un nombre fini (ni NaN ni l'infini)."
    ),
    "Not a valid boolean.": "Doit être vrai ou faux.",
    "Not a valid date.": "Date invalide (format attendu : AAAA-MM-JJ).",
    "Not a valid datetime.": "Date et heure invalides (format ISO 8601 attendu).",
    "Not a valid aware datetime.": (
        "Date et heure invalides : le fuseau horaire doit être indiqué (format ISO 8601)."
    ),
    "Not a valid naive datetime.": (
        "Date et heure invalides : le fuseau horaire ne doit pas être indiqué."
    ),
    "Not a valid time.": "Heure invalide (format attendu : HH:MM:SS).",
    "Not a valid aware time.": "Heure invalide : le fuseau horaire doit être indiqué.",
    "Not a valid naive time.": "Heure invalide : le fuseau horaire ne doit pas être indiqué.",
    "Not a valid period of time.": "Durée invalide.",
    "Not a valid email address.": "Adresse courriel invalide.",
    "Not a valid URL.": "Adresse web (URL) invalide.",
    "Not a valid IP address.": "Adresse IP invalide.",
    "Not a valid IPv4 address.": "Adresse IPv4 invalide.",
    "Not a valid IPv6 address.": "Adresse IPv6 invalide.",
    "Not a valid IP interface.": "Interface IP invalide.",
    "Not a valid IPv4 interface.": "Interface IPv4 invalide.",
    "Not a valid IPv6 interface.": "Interface IPv6 invalide.",
    "Not a valid list.": "Doit être une liste.",
    "Not a valid tuple.": "Doit être une liste de valeurs.",
    "Not a valid mapping type.": "Doit être un objet.",
    "Invalid input type.": "Type de donnée invalide.",
    "Invalid type.": "Type de donnée invalide.",
    "Invalid value.": "Valeur invalide.",
    "Invalid input.": "Valeur invalide.",
    "Not a valid UUID.": "Identifiant invalide.",
    "Shorter than minimum length 1.": "Ce champ ne peut pas être vide.",
    "String does not match expected pattern.": "Format invalide.",
}

# marshmallow.validate.Range's comparisons, as they are built into its messages.
_COMPARISONS = {
    "greater than or equal to": "supérieur ou égal à",
    "greater than": "supérieur à",
    "less than or equal to": "inférieur ou égal à",
    "less than": "inférieur à",
}
_COMPARE = "|".join(_COMPARISONS)  # longest first: "… or equal to" before its prefix

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"),
        "Doit être entre {0} et {1}.",
    ),
    (
        re.compile(r"^Must be greater than or equal to (\S+)\.$"),
        "Doit être supérieur ou égal à {0}.",
    ),
    (re.compile(r"^Must be less than or equal to (\S+)\.$"), "Doit être inférieur ou égal à {0}."),
    (re.compile(r"^Must be one of: (.*)\.$", re.S), "Doit être l'une des valeurs suivantes : {0}."),
    (re.compile(r"^Must be equal to (.*)\.$", re.S), "Doit valoir {0}."),
    (
        re.compile(r"^Length must be between (\d+) and (\d+)\.$"),
        "La longueur doit être entre {0} et {1}.",
    ),
    (
        re.compile(r"^Length must be (\d+)\.$"),
        "Doit compter exactement {0} caractères ou éléments.",
    ),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"), "Doit compter au moins {0} caractères."),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), "Doit compter au plus {0} caractères."),
    (
        re.compile(r"^One or more of the choices you made was not in: (.*)\.$", re.S),
        "Chaque choix doit être l'une des valeurs suivantes : {0}.",
    ),
    (
        re.compile(r"^One or more of the choices you made was in: (.*)\.$", re.S),
        "Aucun choix ne peut être l'une des valeurs suivantes : {0}.",
    ),
    (
        re.compile(r'^"(.*)" cannot be formatted as a (date|datetime|time)\.$', re.S),
        "« {0} » ne peut pas être écrit comme une date ou une heure.",
    ),
    (
        re.compile(r"^(.*) cannot be formatted as a timedelta\.$", re.S),
        "{0} ne peut pas être écrit comme une durée.",
    ),
]
_RANGE = re.compile(rf"^Must be ({_COMPARE}) (\S+?)(?: and ({_COMPARE}) (\S+?))?\.$")


def _range(match: re.Match[str]) -> str:
    first = f"{_COMPARISONS[match[1]]} {match[2]}"
    if match[3] is None:
        return f"Doit être {first}."
    return f"Doit être {first} et {_COMPARISONS[match[3]]} {match[4]}."


def translate(message: str) -> str:
    """The French form of one of marshmallow's default English messages (others unchanged).

    Every default message of marshmallow's fields and validators is here
    (tests/unit/test_french_messages.py lists them from marshmallow itself, so an upgrade that
    adds one fails the test rather than answering in English).
    """
    if message in _EXACT:
        return _EXACT[message]
    for pattern, template in _PATTERNS:
        match = pattern.match(message)
        if match:
            return template.format(*match.groups())
    match = _RANGE.match(message)
    if match:
        return _range(match)
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


# Messages of the catalogue forms' own rules (forms/).
SERVER_OWNED = "Champ réservé au service : il ne peut pas être fourni dans un formulaire."
NOT_A_MAPPING = "Les variables du formulaire doivent former un objet."
ATTESTATION = "Vous devez cocher cette case pour soumettre le formulaire."
BLANK = "Ce champ ne peut pas être vide."
NOT_APPLICABLE = "Ce champ ne s'applique pas avec les choix faits dans le formulaire."
EMAIL_NOT_EDITABLE = "L'adresse courriel est modifiable dans la section Paramètres du compte."
PHONE_NANP = "Numéro de téléphone invalide : 10 chiffres attendus (format 999 999-9999)."
PHONE_INTERNATIONAL = "Numéro de téléphone invalide : de 4 à 15 chiffres attendus."
PHONE_COUNTRY_CODE = "Indicatif invalide (format attendu : +1, +33…)."
PHONE_TERRITORY_CODE = "L'indicatif du territoire « Amérique du Nord » est +1."
PHONE_EXTENSION = "Poste invalide : de 1 à 6 chiffres attendus."
POSTAL_CODE = "Code postal invalide (format attendu : A1A 1A1)."
PROVINCE = "Province ou territoire invalide (par exemple QC, ON)."
COUNTRY = "Pays invalide (code de deux lettres attendu, par exemple CA)."
CLIENT_NUMBER = (
    "Numéro de client invalide : de 1 à 20 chiffres, lettres ou traits d'union (les espaces sont "
    "ignorés)."
)
BIRTH_DATE_FUTURE = "La date de naissance ne peut pas être dans le futur."
BIRTH_DATE_TOO_OLD = "La date de naissance doit être postérieure au 1900-01-01."
END_BEFORE_START = "La date de fin doit être égale ou postérieure à la date de début."
DUPLICATE_VALUE = "Cette valeur est inscrite plus d'une fois."
NOTHING_TO_CHANGE = "La demande ne change rien au profil : indiquez au moins une modification."
SECTION_EMPTY = "Indiquez au moins une modification pour la section « {0} »."
# A field shown when a box of a multi-choice is checked, given while it is not: {0} the box, {1}
# the multi-choice. SECTION_NOT_CHOSEN is what it says for the sections of update-contact.
NOT_CHOSEN = "Cochez « {0} » dans « {1} » pour modifier ce champ."
SECTION_NOT_CHOSEN = "Cochez « {0} » dans « Que désirez-vous modifier? » pour modifier ce champ."
CHOOSE_AT_LEAST_ONE = "Choisissez au moins un élément."
WRONG_PROFILE = "Ce profil ne correspond pas au dossier visé par la demande."
CONTACT_NOT_IN_PROFILE = "Ce contact ne fait pas partie de ce profil."
ORGANISATION_NOT_RELATED = (
    "Cette organisation n'est pas en relation active avec votre organisation : seules les "
    "organisations en relation peuvent être choisies."
)
SUBJECT_UNKNOWN = "Sujet autorisé inconnu : {0}."
SUBJECT_NOT_HELD = (
    "Votre organisation ne détient pas le sujet autorisé « {0} » sur le dossier de cette "
    "organisation : elle ne peut pas le déléguer."
)
RIGHT_ABOVE_FIRM = (
    "Votre organisation ne détient que le droit de lecture sur le sujet autorisé « {0} » de "
    "cette organisation : elle ne peut pas déléguer l'écriture."
)
SUBJECT_NOT_DELEGABLE = (
    "Le sujet autorisé « {0} » n'est pas accessible par délégation lors de cette première phase "
    "de déploiement : l'employeur doit ajouter la personne comme contact de sa propre entreprise."
)
SUBJECT_IN_BOTH_LISTS = (
    "Le sujet autorisé « {0} » est choisi à la fois en lecture et écriture et en lecture seulement."
)
RELATION_NOT_OF_CONTACT = (
    "Cette relation n'est pas une relation active de ce contact avec votre organisation : {0}."
)
GRANT_NOT_OF_CONTACT = (
    "Ce sujet autorisé n'est pas un sujet actif de ce contact lié à votre organisation : {0}."
)
NO_DELEGATION_ON = (
    "Ce contact n'a aucun sujet autorisé délégué sur le dossier de cette organisation : {0}."
)
LAST_RESPONSABLE = (
    "Votre organisation doit conserver au moins un responsable : ajoutez d'abord un autre "
    "responsable avant de retirer cette relation."
)
NO_RELATION_LEFT = "Ce contact n'a aucune relation active avec votre organisation."
NO_EMAIL_FOR_CREDENTIALS = (
    "Ce contact n'a pas d'adresse courriel : les coordonnées de liaison ne peuvent pas lui être "
    "envoyées."
)

# Messages of the one rule per field (forms/fields.py), shared by the forms, the import and the
# accounts.
HOSTILE_TEXT = (
    "Ne doit contenir aucun caractère de contrôle (saut de ligne, tabulation…) ni caractère "
    "invisible."
)
HOSTILE_MULTILINE_TEXT = (
    "Ne doit contenir aucun caractère de contrôle (tabulation…) ni caractère invisible; seuls les "
    "sauts de ligne sont permis."
)
TOO_LONG = "Doit compter au plus {0} caractères."
EMAIL_INVALID = "Adresse courriel invalide."
EMAIL_TOO_LONG = "Adresse courriel trop longue : au plus 254 caractères."
EMAIL_QUOTED = (
    "Adresse courriel invalide : la partie avant « @ » ne peut pas être entre guillemets ni "
    "contenir d'espace."
)
EMAIL_MIXED_SCRIPTS = (
    "Adresse courriel refusée : elle mélange des lettres d'alphabets différents (latin, "
    "cyrillique, grec) qui se ressemblent."
)
EMAIL_DOMAIN = "Adresse courriel invalide : le nom de domaine après « @ » n'est pas valide."
EMAIL_SPECIAL_DOMAIN = (
    "Adresse courriel invalide : le domaine « {domain} » ne reçoit pas de courriel d'Internet."
)
