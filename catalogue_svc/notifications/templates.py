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
    # The guide's *courriel explicatif*: the credentials, the steps of the first connection, the
    # steps to manage the members, the dates to remember. Same parameters for every sender.
    Template(
        subject={
            "fr": "Vos coordonnées de liaison aux services en ligne",
            "en": "Your linking credentials for the online services",
        },
        body={
            "fr": (
                "Bonjour {first_name} {last_name},\n\n"
                "Les services en ligne font peau neuve : tout le monde doit se créer un nouveau "
                "compte utilisateur. Voici vos coordonnées de liaison personnalisées; elles "
                "permettent de lier votre nouveau compte au dossier de {organisation_name} "
                "(numéro de client {organisation_client_number}) et de retrouver les relations "
                "et autorisations qui y ont été migrées.\n\n"
                "    Identifiant de liaison : {identifier}\n"
                "    Code de liaison : {code}\n"
                "    Valides jusqu'au : {expires_on}\n\n"
                "Votre première connexion\n"
                "  1. Rendez-vous sur {base_url} et cliquez sur « Créer un compte ».\n"
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
                "The online services are being renewed: everyone must create a new user account. "
                "Here are your personal linking credentials; they link your new account to the "
                "file of {organisation_name} (client number {organisation_client_number}) and "
                "bring back the relations and authorizations migrated there.\n\n"
                "    Linking identifier: {identifier}\n"
                "    Linking code: {code}\n"
                "    Valid until: {expires_on}\n\n"
                "Your first sign-in\n"
                '  1. Go to {base_url} and click "Create an account".\n'
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
    ),
)
