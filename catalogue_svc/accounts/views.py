"""HTTP API of accounts, sessions, linking and profiles: arguments in, one service call, out."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from ..extensions import Blueprint
from ..linking import redeem
from . import service, sessions
from .links import linked_profiles
from .schemas import (
    LegacyLinkSchema,
    LinkSchema,
    LoginSchema,
    MessageSchema,
    PageArgsSchema,
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

ANONYMOUS: list[dict[str, list[str]]] = [{"csrfToken": []}]
LOGGED_IN: list[dict[str, list[str]]] = [{"sessionCookie": [], "csrfToken": []}]
READ: list[dict[str, list[str]]] = [{"sessionCookie": []}]
TOO_MANY = "Trop de tentatives (en-tête Retry-After)."


@blp.route("/accounts", methods=["POST"])
@blp.doc(security=ANONYMOUS)
@blp.arguments(SignUpSchema)
@blp.response(201, MessageSchema)
@blp.alt_response(429, description=TOO_MANY)
def create_account(args: dict[str, Any]) -> dict[str, str]:
    """Créer un compte : un code à usage unique est envoyé par courriel.

    La réponse est la même que l'adresse soit déjà inscrite ou non.
    """
    service.sign_up(
        email=args["email"],
        password=args["password"],
        first_name=args["first_name"],
        last_name=args["last_name"],
        language=args["language"],
    )
    return {"detail": service.SIGNED_UP}


@blp.route("/accounts/verify", methods=["POST"])
@blp.doc(security=ANONYMOUS)
@blp.arguments(VerifySchema)
@blp.response(200, MessageSchema)
@blp.alt_response(400, description="Code invalide, expiré ou épuisé.")
@blp.alt_response(429, description=TOO_MANY)
def verify_account(args: dict[str, Any]) -> dict[str, str]:
    """Valider le code à usage unique : le compte peut ensuite se connecter."""
    service.verify_email(email=args["email"], code=args["code"])
    return {"detail": service.VERIFIED}


@blp.route("/accounts/verify/resend", methods=["POST"])
@blp.doc(security=ANONYMOUS)
@blp.arguments(ResendSchema)
@blp.response(202, MessageSchema)
@blp.alt_response(429, description=TOO_MANY)
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


@blp.route("/links", methods=["POST"])
@sessions.account_required
@blp.doc(security=LOGGED_IN)
@blp.arguments(LinkSchema)
@blp.response(201, ProfileSchema)
@blp.alt_response(400, description="Coordonnées invalides, expirées, remplacées ou verrouillées.")
@blp.alt_response(409, description="Profil déjà lié à un autre compte.")
@blp.alt_response(429, description=TOO_MANY)
def link_profile(args: dict[str, Any]) -> Any:
    """Lier le compte au profil nommé par des coordonnées de liaison.

    Lier de nouveau le même profil au même compte est sans effet et renvoie le même profil.
    """
    account = sessions.require_account()
    return redeem.redeem_linking_code(
        account=account, identifier=args["identifier"], code=args["code"]
    )


@blp.route("/links/legacy", methods=["POST"])
@sessions.account_required
@blp.doc(security=LOGGED_IN)
@blp.arguments(LegacyLinkSchema)
@blp.response(201, ProfileSchema)
@blp.alt_response(400, description="Identifiants invalides ou verrouillés.")
@blp.alt_response(409, description="Profil déjà lié à un autre compte.")
@blp.alt_response(429, description=TOO_MANY)
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
