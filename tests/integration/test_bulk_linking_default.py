"""*Envoyer les coordonnées de liaison aux membres*: by default, every active member no account
is linked to yet is chosen (the form's description says so for the profile)."""

from __future__ import annotations

from catalogue_svc.db import db
from catalogue_svc.profiles.models import Contact

SLUG = "send-linking-credentials"


def default_members(client, firm) -> list[int]:
    answer = client.get(f"/api/catalogue/items/{SLUG}?profile_id={firm.firm}")
    assert answer.status_code == 200, answer.json
    (field,) = [f for f in answer.json["fields"] if f["name"] == "contact_ids"]
    return field["default"]


def test_members_without_a_linked_account_are_chosen_by_default(app, firm, responsable):
    """The responsable's own contact is linked: not chosen; the other members are, each an
    active member of the firm with an email, each one offered among the choices."""
    chosen = default_members(responsable, firm)
    assert firm.rebecca not in chosen
    assert firm.marie_karine in chosen and firm.marie_helene in chosen
    answer = responsable.get(f"/api/catalogue/items/{SLUG}?profile_id={firm.firm}").json
    (field,) = [f for f in answer["fields"] if f["name"] == "contact_ids"]
    offered = {c["value"] for c in field["choices"]}
    assert set(chosen) <= offered


def test_a_member_without_email_is_not_chosen_by_default(app, firm, responsable):
    """Credentials go by email: a member without an address is left for the responsable."""
    with app.app_context():
        db.session.get(Contact, firm.marie_karine).email = None
        db.session.commit()
    assert firm.marie_karine not in default_members(responsable, firm)


def test_without_a_profile_the_form_has_no_default_members(app, firm, responsable):
    """Described without a profile, no firm's data: no default."""
    answer = responsable.get(f"/api/catalogue/items/{SLUG}")
    (field,) = [f for f in answer.json["fields"] if f["name"] == "contact_ids"]
    assert field["default"] is None
