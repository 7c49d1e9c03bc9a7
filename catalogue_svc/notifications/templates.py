"""Email texts, in French and English. Placeholders use ``str.format_map``."""

from __future__ import annotations

from dataclasses import dataclass

SIGNATURE = {
    "fr": "\n\n--\nServices en ligne\nCe courriel est envoyé automatiquement; n'y répondez pas.",
    "en": "\n\n--\nOnline services\nThis email is sent automatically; do not reply.",
}


@dataclass(frozen=True)
class Template:
    """One email: subject and body per language."""

    subject: dict[str, str]
    body: dict[str, str]


TEMPLATES: dict[str, Template] = {}


def register(name: str, template: Template) -> None:
    """Add a template (each domain registers its own)."""
    TEMPLATES[name] = template


def render(name: str, language: str, params: dict[str, object]) -> tuple[str, str]:
    """Subject and body of template ``name`` in ``language`` (French when unknown)."""
    template = TEMPLATES[name]
    lang = language if language in template.subject else "fr"
    subject = template.subject[lang].format_map(params)
    body = template.body[lang].format_map(params) + SIGNATURE[lang]
    return subject, body


register(
    "linking_credentials",
    Template(
        subject={
            "fr": "Vos coordonnées de liaison aux services en ligne",
            "en": "Your linking credentials for the online services",
        },
        body={
            "fr": (
                "Bonjour {first_name} {last_name},\n\n"
                "Voici vos coordonnées de liaison personnalisées pour lier votre compte utilisateur "
                "au dossier de {organisation_name} (numéro de client {organisation_client_number}).\n\n"
                "    Identifiant de liaison : {identifier}\n"
                "    Code de liaison : {code}\n"
                "    Valide jusqu'au : {expires_on}\n\n"
                "Étapes de votre première connexion :\n"
                "  1. Rendez-vous sur {base_url} et cliquez sur « Créer un compte ».\n"
                "  2. Entrez votre adresse courriel, créez un mot de passe et confirmez-le, "
                "puis cliquez sur « Suivant ».\n"
                "  3. Entrez votre prénom et votre nom, cochez la case des conditions d'utilisation "
                "et cliquez sur « Créer mon compte ».\n"
                "  4. Inscrivez le code à usage unique reçu par courriel et cliquez sur « Valider le code ».\n"
                "  5. Cliquez sur « Utiliser des coordonnées de liaison », puis sur « Commencer », "
                "entrez l'identifiant et le code ci-dessus et cliquez sur « Lier ».\n"
                "  6. Cliquez sur « Sélectionnez un profil » pour poursuivre.\n\n"
                "Dates importantes : ces coordonnées sont valides jusqu'au {expires_on}. "
                "Elles ne peuvent servir qu'une seule fois.\n\n"
                "Conservez précieusement ce courriel jusqu'à ce que votre processus de liaison "
                "soit entièrement complété."
            ),
            "en": (
                "Hello {first_name} {last_name},\n\n"
                "Here are your personal linking credentials to link your user account to the "
                "file of {organisation_name} (client number {organisation_client_number}).\n\n"
                "    Linking identifier: {identifier}\n"
                "    Linking code: {code}\n"
                "    Valid until: {expires_on}\n\n"
                "Steps of your first sign-in:\n"
                '  1. Go to {base_url} and click "Create an account".\n'
                '  2. Enter your email address, create and confirm a password, click "Next".\n'
                "  3. Enter your first and last names, accept the terms of use and click "
                '"Create my account".\n'
                '  4. Enter the one-time code you receive by email and click "Validate the code".\n'
                '  5. Click "Use linking credentials", then "Start", enter the identifier and '
                'code above and click "Link".\n'
                '  6. Click "Select a profile" to continue.\n\n'
                "Important dates: these credentials are valid until {expires_on} and can be used "
                "only once.\n\n"
                "Keep this email until your linking process is complete."
            ),
        },
    ),
)
