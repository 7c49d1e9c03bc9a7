"""Email texts, in French and English, and how every email says a date, a time or a duration.

Placeholders use ``str.format_map``. A parameter may be a :class:`datetime.date` or an aware
:class:`datetime.datetime`: :func:`render` writes it in the email's language, in the portal's time
zone (``America/Montreal``), so no sender formats a date its own way (an ISO date here and a UTC
time there, as two senders of the same email once did). A :class:`Text` parameter is a sentence
in each language, chosen with the email's language.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)

SIGNATURE = {
    "fr": "\n\n--\nServices en ligne\nCe courriel est envoyé automatiquement; n'y répondez pas.",
    "en": "\n\n--\nOnline services\nThis email is sent automatically; do not reply.",
}

# The portal's time zone: the people who read the emails live in Québec.
PORTAL_ZONE = "America/Montreal"

_MONTHS = {
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "en": "January February March April May June July August September October November December",
}


@functools.cache
def _zone() -> ZoneInfo:
    return ZoneInfo(PORTAL_ZONE)


def local_time(at: dt.datetime) -> dt.datetime:
    """``at`` (aware, stored in UTC) on the portal's clock."""
    if at.tzinfo is None:  # the database layer hands out aware UTC datetimes; be safe anyway
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(_zone())


def local_date(at: dt.datetime) -> dt.date:
    """The day ``at`` falls on in the portal's time zone."""
    return local_time(at).date()


def french_date(day: dt.date | dt.datetime) -> str:
    """``7 décembre 2026``, ``1er mars 2026`` (a datetime: its day in America/Montreal)."""
    if isinstance(day, dt.datetime):
        day = local_date(day)
    month = _MONTHS["fr"].split()[day.month - 1]
    return f"{day.day}{'er' if day.day == 1 else ''} {month} {day.year}"


def french_datetime(at: dt.datetime) -> str:
    """``7 décembre 2026 à 14 h 05``, on the portal's clock (America/Montreal)."""
    local = local_time(at)
    return f"{french_date(local.date())} à {local.hour} h {local.minute:02d}"


def english_date(day: dt.date | dt.datetime) -> str:
    """``December 7, 2026`` (a datetime: its day in America/Montreal)."""
    if isinstance(day, dt.datetime):
        day = local_date(day)
    return f"{_MONTHS['en'].split()[day.month - 1]} {day.day}, {day.year}"


def english_datetime(at: dt.datetime) -> str:
    """``December 7, 2026 at 2:05 PM``, on the portal's clock (America/Montreal)."""
    local = local_time(at)
    hour = local.hour % 12 or 12
    return f"{english_date(local.date())} at {hour}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"


_UNITS = (("heure", 3600), ("minute", 60), ("seconde", 1))


def french_duration(seconds: float) -> str:
    """``1 heure``, ``2 minutes``, ``45 secondes``: the largest unit that fits, rounded up.

    Rounded up so that someone told to wait is never told a time shorter than the real one
    (3601 seconds are "2 heures", never "1 heure").
    """
    seconds = max(1, math.ceil(seconds))
    for unit, size in _UNITS:
        if seconds >= size:
            count = math.ceil(seconds / size)
            return f"{count} {unit}{'s' if count > 1 else ''}"
    raise AssertionError("unreachable: seconds >= 1")


@dataclass(frozen=True)
class Text:
    """A sentence in each language; the email's language picks one (it may hold placeholders)."""

    fr: str
    en: str

    def __getitem__(self, language: str) -> str:
        return self.en if language == "en" else self.fr


@dataclass(frozen=True)
class Template:
    """One email: subject and body per language, and the parameters a caller may leave out."""

    subject: dict[str, str]
    body: dict[str, str]
    defaults: Mapping[str, object] = field(default_factory=dict)


TEMPLATES: dict[str, Template] = {}


def register(name: str, template: Template) -> None:
    """Add a template (each domain registers its own)."""
    TEMPLATES[name] = template


def _say(value: object, language: str) -> object:
    """A parameter as the email writes it: dates and times in words, on the portal's clock."""
    english = language == "en"
    if isinstance(value, dt.datetime):
        return english_datetime(value) if english else french_datetime(value)
    if isinstance(value, dt.date):
        return english_date(value) if english else french_date(value)
    return value


class _Params(dict[str, object]):
    """A template's values; a placeholder its row lacks is written as nothing.

    An email is rendered when it is sent, from the parameters stored with its outbox row: a row
    queued before a template gained a placeholder must still go out (never dropped), not fail
    at every attempt until it is exhausted."""

    def __missing__(self, key: str) -> str:
        log.warning("email parameter missing", extra={"fields": {"parameter": key}})
        return ""


def render(name: str, language: str, params: dict[str, object]) -> tuple[str, str]:
    """Subject and body of template ``name`` in ``language`` (French when unknown)."""
    template = TEMPLATES[name]
    lang = language if language in template.subject else "fr"
    merged = {**template.defaults, **params}
    values = _Params({k: _say(v, lang) for k, v in merged.items() if not isinstance(v, Text)})
    values.update({k: v[lang].format_map(values) for k, v in merged.items() if isinstance(v, Text)})
    subject = template.subject[lang].format_map(values)
    body = template.body[lang].format_map(values) + SIGNATURE[lang]
    return subject, body


# The opening of the *courriel explicatif*. Only the import's members were migrated from the
# legacy site: a member added or re-sent credentials through a form hears nothing of a migration.
LINKING_INTRO_MIGRATED = Text(
    fr=(
        "Les services en ligne font peau neuve : tout le monde doit se créer un nouveau compte "
        "utilisateur. Voici vos coordonnées de liaison personnalisées; elles permettent de lier "
        "votre nouveau compte au dossier de {organisation_name} (numéro de client "
        "{organisation_client_number}) et de retrouver les relations et autorisations qui y ont "
        "été migrées."
    ),
    en=(
        "The online services are being renewed: everyone must create a new user account. Here "
        "are your personal linking credentials; they link your new account to the file of "
        "{organisation_name} (client number {organisation_client_number}) and bring back the "
        "relations and authorizations migrated there."
    ),
)
LINKING_INTRO_ISSUED = Text(
    fr=(
        "Voici vos coordonnées de liaison personnalisées; elles permettent de lier votre compte "
        "utilisateur des services en ligne au dossier de {organisation_name} (numéro de client "
        "{organisation_client_number}), où vous agirez selon les autorisations que votre "
        "organisation vous a données."
    ),
    en=(
        "Here are your personal linking credentials; they link your online services user "
        "account to the file of {organisation_name} (client number "
        "{organisation_client_number}), where you will act with the authorizations your "
        "organisation gave you."
    ),
)


register(
    "linking_credentials",
    # The guide's *courriel explicatif*: the credentials, the steps of the first connection, the
    # steps to manage the members, the dates to remember. Same parameters for every sender
    # (``linking.service.queue_credentials_email``); ``expires_on`` is a date.
    Template(
        subject={
            "fr": "Vos coordonnées de liaison aux services en ligne",
            "en": "Your linking credentials for the online services",
        },
        body={
            "fr": (
                "Bonjour {first_name} {last_name},\n\n"
                "{intro}\n\n"
                "    Identifiant de liaison : {identifier}\n"
                "    Code de liaison : {code}\n"
                "    Valides jusqu'au : {expires_on}\n\n"
                "Votre première connexion\n"
                "  1. Rendez-vous sur {base_url} et cliquez sur « Créer un compte » (si vous avez "
                "déjà un compte, connectez-vous et passez à l'étape 5).\n"
                "  2. Entrez votre adresse courriel, créez un mot de passe, confirmez-le, puis "
                "cliquez sur « Suivant ».\n"
                "  3. Entrez votre prénom et votre nom, cochez la case attestant que vous avez lu "
                "les conditions d'utilisation et cliquez sur « Créer mon compte ».\n"
                "  4. Un code à usage unique vous est envoyé par courriel : inscrivez-le et cliquez "
                "sur « Valider le code ».\n"
                "  5. Cliquez sur « Utiliser des coordonnées de liaison », puis sur « Commencer ». "
                "Entrez l'identifiant et le code ci-dessus et cliquez sur « Lier ».\n"
                "  6. Cliquez sur « Sélectionnez un profil » pour poursuivre.\n\n"
                "Si vous êtes responsable de votre organisation, ensuite\n"
                "  - Dans « Mon organisation » › « Relations et autorisations », validez les "
                "contacts, les relations et les autorisations de l'organisation.\n"
                "  - Corrigez ce qui doit l'être avec les formulaires du « Catalogue de services » "
                "(ajouter un membre, modifier ses informations, retirer une relation).\n"
                "  - Envoyez leurs coordonnées de liaison à vos membres : formulaire « Modifier les "
                "informations personnelles et les coordonnées d'un individu autorisé ou d'un "
                "contact », case « Émettre un nouveau code de liaison ».\n\n"
                "Dates à retenir\n"
                "  - Ces coordonnées sont valides jusqu'au {expires_on} et ne servent qu'une fois.\n"
                "  - Passé cette date, demandez au responsable de votre organisation d'émettre un "
                "nouveau code de liaison.\n\n"
                "Conservez précieusement ce courriel jusqu'à ce que votre processus de liaison "
                "soit entièrement complété."
            ),
            "en": (
                "Hello {first_name} {last_name},\n\n"
                "{intro}\n\n"
                "    Linking identifier: {identifier}\n"
                "    Linking code: {code}\n"
                "    Valid until: {expires_on}\n\n"
                "Your first sign-in\n"
                '  1. Go to {base_url} and click "Create an account" (if you already have an '
                "account, sign in and go to step 5).\n"
                "  2. Enter your email address, create a password, confirm it, then click "
                '"Next".\n'
                "  3. Enter your first and last names, tick the box confirming you have read the "
                'terms of use and click "Create my account".\n'
                '  4. A one-time code is sent to you by email: enter it and click "Validate the '
                'code".\n'
                '  5. Click "Use linking credentials", then "Start". Enter the identifier '
                'and code above and click "Link".\n'
                '  6. Click "Select a profile" to continue.\n\n'
                "If you are the person in charge of your organisation, then\n"
                '  - In "My organisation" > "Relations and authorizations", check the '
                "organisation's contacts, relations and authorizations.\n"
                '  - Correct what needs to be with the forms of the "Service catalogue" (add a '
                "member, modify their information, remove a relation).\n"
                '  - Send your members their linking credentials: form "Modify the personal '
                'information and contact details of an authorized individual or a contact", box '
                '"Issue a new linking code".\n\n'
                "Dates to remember\n"
                "  - These credentials are valid until {expires_on} and can be used only once.\n"
                "  - After that date, ask the person in charge of your organisation to issue a new "
                "linking code.\n\n"
                "Keep this email until your linking process is complete."
            ),
        },
        defaults={"intro": LINKING_INTRO_ISSUED},
    ),
)
