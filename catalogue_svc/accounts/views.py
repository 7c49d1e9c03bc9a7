"""HTTP API of accounts, sessions, linking and profiles: arguments in, one service call, out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.views import MethodView

from ..extensions import ANONYMOUS, LOGGED_IN, READ, Blueprint
from ..linking import redeem
from ..routes import View, compose
from . import service, sessions, settings
from .links import linked_profiles
from .schemas import (
    AccountSettingsSchema,
    AccountUpdateSchema,
    EmailChangeConfirmSchema,
    EmailChangeSchema,
    LegacyLinkSchema,
    LinkSchema,
    LoginSchema,
    MessageSchema,
    PageArgsSchema,
    PasswordChangeSchema,
    PasswordResetRequestSchema,
    PasswordResetSchema,
    ProfilePageSchema,
    ProfileSchema,
    ResendSchema,
    SessionSchema,
    SignUpSchema,
    VerifySchema,
)

blp = Blueprint(
    "accounts", __name__, url_prefix="/api", description="Comptes, sessions, liaison et profils"
)

TOO_MANY = "Trop de tentatives (en-tête Retry-After)."
NOT_LOGGED_IN = "Non connecté, ou session terminée."
CODE_REFUSED = (
    "Code refusé (invalide, expiré, déjà utilisé ou épuisé : une seule réponse, quelle que soit "
    "l'adresse)"
)
SIGN_UP_CODE_REFUSED = (
    f"{CODE_REFUSED}, ou bon code inscrit dans un navigateur qui n'a fait aucune des demandes "
    "concurrentes pour cette adresse."
)


def _anonymous_post(
    rule: str, schema: Any, status: int, *, refused: str | None = None
) -> Callable[[View], View]:
    """``POST rule`` without a session: ``schema`` as the body, a message as the answer
    (``status``), 429 after too many tries; ``refused`` says what a 400 means there, if any."""
    refusal = [] if refused is None else [blp.alt_response(400, description=refused)]
    return compose(
        blp.route(rule, methods=["POST"]),
        blp.doc(security=ANONYMOUS),
        blp.arguments(schema),
        blp.response(status, MessageSchema),
        *refusal,
        blp.alt_response(429, description=TOO_MANY),
    )


def _link_post(rule: str, schema: Any, *, refused: str) -> Callable[[View], View]:
    """``POST rule`` linking the logged-in account to a profile (201 with it); ``refused`` says
    what a 400 means there."""
    return compose(
        blp.route(rule, methods=["POST"]),
        sessions.account_required,
        blp.doc(security=LOGGED_IN),
        blp.arguments(schema),
        blp.response(201, ProfileSchema),
        blp.alt_response(400, description=refused),
        blp.alt_response(409, description="Profil déjà lié à un autre compte."),
        blp.alt_response(429, description=TOO_MANY),
    )


@_anonymous_post("/accounts", SignUpSchema, 201)
def create_account(args: dict[str, Any]) -> dict[str, str]:
    """Créer un compte : un code à usage unique est envoyé par courriel.

    La réponse est la même que l'adresse soit déjà inscrite, en attente de validation ou non.
    Une nouvelle demande pour une adresse en attente ne remplace pas la précédente.
    """
    service.sign_up(
        email=args["email"],
        password=args["password"],
        first_name=args["first_name"],
        last_name=args["last_name"],
        language=args["language"],
    )
    return {"detail": service.SIGNED_UP}


@_anonymous_post("/accounts/verify", VerifySchema, 200, refused=SIGN_UP_CODE_REFUSED)
def verify_account(args: dict[str, Any]) -> dict[str, str]:
    """Valider le code à usage unique : le compte peut ensuite se connecter.

    Le code confirme la demande de création faite dans ce navigateur (son mot de passe et ses
    noms); une autre demande faite pour la même adresse ne la remplace pas.
    """
    service.verify_email(email=args["email"], code=args["code"])
    return {"detail": service.VERIFIED}


@_anonymous_post("/accounts/verify/resend", ResendSchema, 202)
def resend_code(args: dict[str, Any]) -> dict[str, str]:
    """Renvoyer un code (au plus une fois par minute); la même réponse pour toute adresse."""
    service.resend_verification(email=args["email"])
    return {"detail": service.RESENT}


@blp.route("/session")
class Session(MethodView):
    """La session du navigateur."""

    @blp.doc(security=[{}, READ[0]])
    @blp.response(200, SessionSchema)
    def get(self) -> dict[str, Any]:
        """Qui suis-je, et le jeton CSRF à envoyer (aussi avant la connexion)."""
        return service.who_am_i()

    @blp.doc(security=ANONYMOUS)
    @blp.arguments(LoginSchema)
    @blp.response(200, SessionSchema)
    @blp.alt_response(401, description="Identifiants invalides ou adresse non confirmée.")
    @blp.alt_response(429, description=TOO_MANY)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Se connecter (comptes confirmés seulement); pose un nouveau témoin de session."""
        service.log_in(email=args["email"], password=args["password"])
        return service.who_am_i()

    @blp.doc(security=LOGGED_IN)
    @blp.response(204)
    @blp.alt_response(401, description="Aucune session active.")
    def delete(self) -> None:
        """Se déconnecter : la session est révoquée côté serveur."""
        service.log_out()


@_link_post(
    "/links", LinkSchema, refused="Coordonnées invalides, expirées, remplacées ou verrouillées."
)
def link_profile(args: dict[str, Any]) -> Any:
    """Lier le compte au profil nommé par des coordonnées de liaison.

    Lier de nouveau le même profil au même compte est sans effet et renvoie le même profil.
    """
    account = sessions.require_account()
    return redeem.redeem_linking_code(
        account=account, identifier=args["identifier"], code=args["code"]
    )


@_link_post("/links/legacy", LegacyLinkSchema, refused="Identifiants invalides ou verrouillés.")
def link_legacy_profile(args: dict[str, Any]) -> Any:
    """Lier le compte avec le nom d'utilisateur et le mot de passe de l'ancien site."""
    account = sessions.require_account()
    return redeem.redeem_legacy(
        account=account, username=args["username"], password=args["password"]
    )


@blp.route("/profiles", methods=["GET"])
@sessions.account_required
@blp.doc(security=READ)
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, ProfilePageSchema)
@blp.alt_response(401, description="Non connecté.")
def list_profiles(args: dict[str, Any]) -> dict[str, Any]:
    """Les profils liés au compte (« Sélectionnez un profil »)."""
    account = sessions.require_account()
    profiles = linked_profiles(account.id)
    page, per_page = args["page"], args["per_page"]
    start = (page - 1) * per_page
    return {
        "items": profiles[start : start + per_page],
        "page": page,
        "per_page": per_page,
        "total": len(profiles),
    }


# ---------------------------------------------------------------- account settings


@_anonymous_post("/password-reset", PasswordResetRequestSchema, 202)
def request_password_reset(args: dict[str, Any]) -> dict[str, str]:
    """Mot de passe oublié? : un code valide 30 minutes est envoyé au titulaire du compte.

    La réponse est la même que l'adresse appartienne à un compte ou non.
    """
    settings.request_password_reset(email=args["email"])
    return {"detail": settings.RESET_REQUESTED}


@_anonymous_post("/password-reset/confirm", PasswordResetSchema, 200, refused=f"{CODE_REFUSED}.")
def reset_password(args: dict[str, Any]) -> dict[str, str]:
    """Choisir un nouveau mot de passe avec le code reçu.

    Toutes les sessions du compte prennent fin; un avis est envoyé par courriel.
    """
    settings.reset_password(email=args["email"], code=args["code"], password=args["password"])
    return {"detail": settings.RESET_DONE}


@blp.route("/account")
class AccountSettings(MethodView):
    """Paramètres du compte."""

    @sessions.account_required
    @blp.doc(security=READ)
    @blp.response(200, AccountSettingsSchema)
    @blp.alt_response(401, description=NOT_LOGGED_IN)
    def get(self) -> dict[str, Any]:
        """Les paramètres du compte : noms, adresse, langue et profils liés."""
        return settings.account_settings(sessions.require_account())

    @sessions.account_required
    @blp.doc(security=LOGGED_IN)
    @blp.arguments(AccountUpdateSchema)
    @blp.response(200, AccountSettingsSchema)
    @blp.alt_response(401, description=NOT_LOGGED_IN)
    def patch(self, args: dict[str, Any]) -> dict[str, Any]:
        """Modifier le prénom, le nom ou la langue de communication.

        La langue est celle de tous les courriels que le compte reçoit par la suite.
        """
        return settings.update_settings(account=sessions.require_account(), changes=args)


def _settings_post(rule: str, schema: Any, status: int, *, refused: str) -> Callable[[View], View]:
    """``POST rule`` of the account's settings: logged in, ``schema`` as the body, a message as
    the answer (``status``); ``refused`` says what a 400 means there."""
    return compose(
        blp.route(rule, methods=["POST"]),
        sessions.account_required,
        blp.doc(security=LOGGED_IN),
        blp.arguments(schema),
        blp.response(status, MessageSchema),
        blp.alt_response(400, description=refused),
        blp.alt_response(401, description=NOT_LOGGED_IN),
        blp.alt_response(429, description=TOO_MANY),
    )


@_settings_post(
    "/account/password", PasswordChangeSchema, 200, refused="Mot de passe actuel invalide."
)
def change_password(args: dict[str, Any]) -> dict[str, str]:
    """Changer le mot de passe (le mot de passe actuel est exigé).

    Les autres sessions prennent fin, celle-ci reçoit un nouvel identifiant; un avis est envoyé
    par courriel.
    """
    settings.change_password(
        account=sessions.require_account(),
        current_password=args["current_password"],
        password=args["password"],
    )
    return {"detail": settings.CHANGE_DONE}


@_settings_post("/account/email", EmailChangeSchema, 202, refused="Mot de passe actuel invalide.")
def request_email_change(args: dict[str, Any]) -> dict[str, str]:
    """Changer d'adresse courriel : un code est envoyé à la nouvelle adresse.

    Rien ne change avant la confirmation. La réponse est la même si l'adresse sert déjà à un
    autre compte (son titulaire en est avisé; la confirmation échouera).
    """
    settings.request_email_change(
        account=sessions.require_account(),
        current_password=args["current_password"],
        email=args["email"],
    )
    return {"detail": settings.EMAIL_CHANGE_REQUESTED}


@_settings_post(
    "/account/email/confirm",
    EmailChangeConfirmSchema,
    200,
    refused="Code invalide, expiré, déjà utilisé ou épuisé.",
)
def confirm_email_change(args: dict[str, Any]) -> dict[str, str]:
    """Confirmer la nouvelle adresse avec le code reçu.

    L'ancienne adresse reçoit un avis; les autres sessions prennent fin.
    """
    settings.confirm_email_change(account=sessions.require_account(), code=args["code"])
    return {"detail": settings.EMAIL_CHANGED}


@blp.route("/profiles/<int:profile_id>/link", methods=["DELETE"])
@sessions.account_required
@blp.doc(security=LOGGED_IN)
@blp.response(204)
@blp.alt_response(401, description=NOT_LOGGED_IN)
@blp.alt_response(404, description="Le compte n'est pas lié à ce profil.")
def unlink_profile(profile_id: int) -> None:
    """Délier le compte d'un profil : il quitte la liste des profils (l'historique reste)."""
    settings.unlink_profile(account=sessions.require_account(), profile_id=profile_id)
