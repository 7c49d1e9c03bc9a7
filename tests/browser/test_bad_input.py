"""Bad input on the forms: every error beside its field and in the summary, in French."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from catalogue_svc.accounts.models import Account, AccountLink, OneTimeCode
from catalogue_svc.requests.models import Request
from tests.browser import journeys as j
from tests.browser.harness import Portal, Screens

# The top of an item's first line of text, and the top the browser gives its bullet's line (a
# zero-width probe put where the marker's line begins).
BULLET_AND_TEXT = """(li) => {
    const probe = document.createElement("span");
    li.prepend(probe);
    const marker = probe.getBoundingClientRect().top;
    probe.remove();
    const range = document.createRange();
    range.selectNodeContents(li);
    return [marker, range.getClientRects()[0].top];
}"""
ENGLISH = re.compile(r"\b(required|invalid|field|must|error|missing|not|the)\b", re.I)
DIFFERENT = "La confirmation ne correspond pas au mot de passe."
# An internal key inside a sentence: a marshmallow one, a dotted path, a snake_case name.
INTERNAL = re.compile(r"_schema|\bvariables\.|\b[a-z]+_[a-z_]+\b|\b[a-z]+\.[a-z]+\b")


def summary(scope):
    """The error summary in ``scope`` (a page, or a part of it holding one form)."""
    page = getattr(scope, "page", scope)
    return scope.get_by_role("alert").filter(has=page.get_by_role("list"))


def check_error(page, label: str, message: str, within=None) -> None:
    """``message`` beside the field (its description, marked invalid) and in the summary."""
    control = (within or page).get_by_label(re.compile(f"^{re.escape(label)}"))
    expect(control).to_have_attribute("aria-invalid", "true")
    expect(control).to_have_accessible_description(re.compile(re.escape(message)))
    item = summary(within or page).get_by_role(
        "button", name=re.compile(f"^{re.escape(label)}.*? : ")
    )
    expect(item).to_contain_text(message)


def test_sign_up_errors_beside_each_field_and_in_the_summary(screens: Screens) -> None:
    """Créer un compte empty, then with a bad address and a weak password: French errors."""
    page = screens.page
    page.goto("/#/creer-un-compte")
    expect(page.get_by_role("heading", name="Création du compte")).to_be_visible()
    page.get_by_role("button", name="Suivant").click()
    expect(summary(page)).to_be_visible()
    for label in ("Adresse courriel", "Mot de passe", "Confirmez le mot de passe"):
        check_error(page, label, "Ce champ est obligatoire.")
    screens.look("Création du compte, champs vides")
    summary(page).get_by_role("button", name=re.compile("^Adresse courriel")).click()
    expect(page.get_by_label("Adresse courriel")).to_be_focused()

    page.get_by_label("Adresse courriel").fill("pas-une-adresse")
    page.get_by_label(re.compile("^Mot de passe")).fill("123")
    page.get_by_label("Confirmez le mot de passe").fill("123")
    page.get_by_role("button", name="Suivant").click()
    page.get_by_label("Prénom").fill("Zoé")
    page.get_by_label(re.compile("^Nom")).fill("Roy")
    page.get_by_role("button", name="Créer mon compte").click()
    expect(page.get_by_text("Étape 1 de 2")).to_be_visible()  # back where the errors are
    expect(page.get_by_label("Adresse courriel")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label(re.compile("^Mot de passe"))).to_have_attribute("aria-invalid", "true")
    texts = summary(page).inner_text()
    assert "Adresse courriel" in texts and "Mot de passe" in texts, texts
    assert not ENGLISH.search(texts), texts
    screens.look("Création du compte, adresse et mot de passe refusés")
    expect(page.get_by_role("heading", name="Valider le code")).to_have_count(0)


def test_the_add_form_submitted_empty_shows_each_error_and_submits_nothing(
    portal: Portal, screens: Screens
) -> None:
    """« Soumettre » on an empty form: French errors beside the fields, no request made."""
    with portal.db() as session:
        before = session.scalar(select(func.count()).select_from(Request))
    page = screens.page
    j.responsable_at_home(portal, page)
    j.open_add_form(page)
    page.get_by_role("button", name="Soumettre", exact=True).click()
    box = summary(page)
    expect(box).to_be_visible()
    items = box.get_by_role("listitem")
    expect(items.first).to_be_visible()
    assert items.count() >= 2, box.inner_text()
    texts = box.inner_text()
    assert not ENGLISH.search(texts), texts
    assert "_schema" not in texts and "variables." not in texts, texts
    expect(page.locator(".field--invalid").first).to_be_visible()
    for field in page.locator(".field--invalid").all():
        expect(field.locator(".field__error")).not_to_be_empty()
    screens.look("Ajouter une relation, erreurs")
    page.get_by_label("Le contact n'existe pas").check()
    page.get_by_role("button", name="Soumettre", exact=True).click()
    expect(summary(page)).to_be_visible()
    screens.look("Ajouter un membre, erreurs")
    # A phone is optional: its fields carry no « obligatoire », their help says when they are.
    phone = page.get_by_role("group", name="Numéro principal")
    expect(phone.get_by_label("Numéro de téléphone", exact=True)).to_be_visible()
    expect(phone.get_by_text("(obligatoire)")).to_have_count(0)
    expect(phone.get_by_label("Numéro de téléphone", exact=True)).to_have_accessible_description(
        re.compile("Obligatoire si vous inscrivez un numéro")
    )
    # On a phone, each summary item that wraps keeps its bullet on its first line.
    page.set_viewport_size({"width": 390, "height": 844})
    for item in summary(page).get_by_role("listitem").all():
        marker_top, text_top = item.evaluate(BULLET_AND_TEXT)
        assert abs(marker_top - text_top) < 4, item.inner_text()
    page.set_viewport_size({"width": 1280, "height": 900})
    expect(page.get_by_text("Votre demande a été soumise.")).to_have_count(0)
    with portal.db() as session:
        assert session.scalar(select(func.count()).select_from(Request)) == before


def errors_shown(page, *expected: tuple[str, str], within=None) -> None:
    """The error summary has the focus; it names each ``(label, message)`` expected, in French
    (no English, no internal key); each of its items takes the focus to a field marked invalid
    whose accessible description holds the item's message."""
    box = page.locator("[role=alert]:focus")  # a screen may hold one summary per form
    expect(box.get_by_role("list")).to_be_visible()
    for label, message in expected:
        check_error(page, label, message, within)
    texts = box.inner_text()
    assert not ENGLISH.search(texts), texts
    assert not INTERNAL.search(texts), texts
    items = box.get_by_role("button").all_inner_texts()
    assert items and len(items) >= len(expected), texts
    for text in items:
        message = text.partition(" : ")[2]
        assert message, text
        summary(within or page).get_by_role("button", name=text, exact=True).click()
        focused = page.locator(":focus")
        expect(focused).to_have_attribute("aria-invalid", "true")
        expect(focused).to_have_accessible_description(re.compile(re.escape(message)))


def password_hash(portal: Portal, email: str) -> str:
    with portal.db() as session:
        account = session.scalar(select(Account).where(Account.email == email))
        assert account is not None
        return account.password_hash


def count(portal: Portal, model) -> int:
    with portal.db() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_account_settings_refuse_bad_input_beside_each_field(
    portal: Portal, screens: Screens
) -> None:
    """Paramètres du compte: a malformed new address, a wrong current password, a confirmation
    that differs: each error in French beside its field and in the summary; nothing changes."""
    email = j.an_account(portal)
    before = password_hash(portal, email), count(portal, OneTimeCode)
    page = screens.page
    j.log_in(page, email)
    expect(page.get_by_role("heading", name="Liaison d'un profil")).to_be_visible()
    page.get_by_role("link", name="Paramètres du compte").click()
    expect(page.get_by_role("heading", name="Paramètres du compte", level=1)).to_be_visible()

    part = page.get_by_role("region", name="Adresse courriel")
    part.get_by_role("button", name="Changer d'adresse").click()
    errors_shown(
        page,
        ("Nouvelle adresse courriel", "Ce champ est obligatoire."),
        ("Mot de passe actuel", "Ce champ est obligatoire."),
        within=part,
    )
    part.get_by_label(re.compile("^Nouvelle adresse courriel")).fill("pas-une-adresse")
    part.get_by_label(re.compile("^Mot de passe actuel")).fill(j.PASSWORD)
    part.get_by_role("button", name="Changer d'adresse").click()
    errors_shown(page, ("Nouvelle adresse courriel", "Adresse courriel invalide."), within=part)
    part.get_by_label(re.compile("^Nouvelle adresse courriel")).fill("nouvelle@exemple.test")
    part.get_by_label(re.compile("^Mot de passe actuel")).fill("Pas-le-bon-2026!")
    part.get_by_role("button", name="Changer d'adresse").click()
    errors_shown(page, ("Mot de passe actuel", "Mot de passe actuel invalide."), within=part)
    screens.look("Paramètres du compte, adresse refusée")

    part = page.get_by_role("region", name="Mot de passe")
    part.get_by_label(re.compile("^Mot de passe actuel")).fill("Pas-le-bon-2026!")
    part.get_by_label(re.compile("^Nouveau mot de passe")).fill("Hibou-Gris-2027-Nord")
    part.get_by_label(re.compile("^Confirmez le nouveau mot de passe")).fill("Hibou-Gris-2027-Sud")
    part.get_by_role("button", name="Changer le mot de passe").click()
    errors_shown(page, ("Confirmez le nouveau mot de passe", DIFFERENT), within=part)
    part.get_by_label(re.compile("^Mot de passe actuel")).fill(j.PASSWORD)
    part.get_by_label(re.compile("^Nouveau mot de passe")).fill("123")
    part.get_by_label(re.compile("^Confirmez le nouveau mot de passe")).fill("123")
    part.get_by_role("button", name="Changer le mot de passe").click()
    errors_shown(page, ("Nouveau mot de passe", "au moins 8 caractères"), within=part)
    screens.look("Paramètres du compte, mot de passe refusé")
    assert (password_hash(portal, email), count(portal, OneTimeCode)) == before


def test_forgotten_password_refuses_bad_input_beside_each_field(
    portal: Portal, screens: Screens
) -> None:
    """Mot de passe oublié?: no address, a malformed one, then a wrong code and differing
    passwords: French errors beside the fields and in the summary; the password is kept."""
    email = j.an_account(portal)
    before = password_hash(portal, email)
    page = screens.page
    page.goto("/#/mot-de-passe-oublie")
    expect(page.get_by_role("heading", name="Mot de passe oublié?")).to_be_visible()
    page.get_by_role("button", name="Recevoir un code").click()
    first = page.locator("section").filter(has=page.get_by_role("button", name="Recevoir un code"))
    errors_shown(page, ("Adresse courriel", "Ce champ est obligatoire."), within=first)
    first.get_by_label("Adresse courriel").fill("pas-une-adresse")
    page.get_by_role("button", name="Recevoir un code").click()
    errors_shown(page, ("Adresse courriel", "Adresse courriel invalide."), within=first)
    screens.look("Mot de passe oublié, adresse refusée")

    page.get_by_role("button", name="J'ai déjà un code").click()
    part = page.get_by_role("region", name="Choisir un nouveau mot de passe")
    part.get_by_role("button", name="Changer le mot de passe").click()
    errors_shown(
        page,
        ("Code reçu par courriel", "Ce champ est obligatoire."),
        ("Nouveau mot de passe", "Ce champ est obligatoire."),
        ("Confirmez le nouveau mot de passe", "Ce champ est obligatoire."),
        within=part,
    )
    part.get_by_label("Adresse courriel").fill(email)
    part.get_by_label(re.compile("^Code reçu par courriel")).fill("000000")
    part.get_by_label(re.compile("^Nouveau mot de passe")).fill("Loutre-Brune-2027-Est")
    part.get_by_label(re.compile("^Confirmez le nouveau mot de passe")).fill(
        "Loutre-Brune-2027-Ouest"
    )
    part.get_by_role("button", name="Changer le mot de passe").click()
    errors_shown(page, ("Confirmez le nouveau mot de passe", DIFFERENT), within=part)
    part.get_by_label(re.compile("^Confirmez le nouveau mot de passe")).fill(
        "Loutre-Brune-2027-Est"
    )
    part.get_by_role("button", name="Changer le mot de passe").click()
    errors_shown(page, ("Code reçu par courriel", "code"), within=part)
    screens.look("Nouveau mot de passe, code refusé")
    expect(page.get_by_role("heading", name="Se connecter")).to_have_count(0)
    assert password_hash(portal, email) == before


def test_linking_with_wrong_credentials_says_so_and_links_nothing(
    portal: Portal, screens: Screens
) -> None:
    """Liaison d'un profil: empty fields, then credentials that match none: French errors
    beside both fields and in the summary; no profile is linked."""
    page = screens.page
    j.log_in(page, j.an_account(portal))
    expect(page.get_by_role("heading", name="Liaison d'un profil")).to_be_visible()
    links = count(portal, AccountLink)
    page.goto("/#/liaison?methode=coordonnees&etape=formulaire")
    expect(page.get_by_label("Identifiant de liaison")).to_be_visible()
    page.get_by_role("button", name="Lier").click()
    errors_shown(
        page,
        ("Identifiant de liaison", "Ce champ est obligatoire."),
        ("Code de liaison", "Ce champ est obligatoire."),
    )
    page.get_by_label("Identifiant de liaison").fill("L-ZZZZ-ZZZZ")
    page.get_by_label("Code de liaison").fill("ABCD-EFGH")
    page.get_by_role("button", name="Lier").click()
    refused = "Identifiant ou code de liaison invalide."
    errors_shown(page, ("Identifiant de liaison", refused), ("Code de liaison", refused))
    screens.look("Liaison d'un profil, coordonnées refusées")
    expect(page.get_by_text("La liaison est réussie.")).to_have_count(0)
    assert count(portal, AccountLink) == links


@pytest.fixture(scope="module")
def responsable(portal: Portal) -> str:
    """One responsable of the firm for the forms that submit nothing."""
    return j.firm_responsable(portal)


def test_the_modify_form_refuses_bad_input_beside_each_field(
    portal: Portal, screens: Screens, responsable: str
) -> None:
    """Modifier les informations: a section chosen but left empty, a malformed phone, a
    relation's end in the past, no attestation: French errors beside each field and in the
    summary; no request is made."""
    before = count(portal, Request)
    page = screens.page
    j.log_in(page, responsable)
    j.open_firm(page)
    j.open_modify_form(page, "Julie Gagnon")
    page.get_by_role("checkbox", name="Informations personnelles").check()
    page.get_by_role("checkbox", name="Coordonnées de communication").check()
    phone = page.get_by_role("group", name="Numéro principal")
    phone.get_by_label(re.compile("^Type de numéro de téléphone")).select_option(label="Cellulaire")
    phone.get_by_label("Numéro de téléphone", exact=True).fill("12")
    page.get_by_role("checkbox", name="Date de fin d'une relation").check()
    page.get_by_label(re.compile("^Nouvelle date de fin")).fill("2020-01-31")
    page.get_by_role("button", name="Soumettre", exact=True).click()
    errors_shown(
        page,
        ("Numéro de téléphone", "10 chiffres attendus (format 999 999-9999)"),
        ("Relation", "Ce champ est obligatoire."),
    )
    expect(
        summary(page).get_by_role("button", name=re.compile("^Que désirez-vous modifier"))
    ).to_contain_text("Indiquez au moins une modification pour la section « Informations")
    screens.look("Modifier un membre, erreurs")
    # Corrected, the form says what remains (the rules that need the fields' values).
    page.get_by_role("checkbox", name="Informations personnelles").uncheck()
    phone.get_by_label("Numéro de téléphone", exact=True).fill("514 555-0123")
    page.get_by_role("button", name="Soumettre", exact=True).click()
    errors_shown(
        page,
        ("Nouvelle date de fin", "La date de fin ne peut pas être dans le passé"),
        ("J'atteste", "Vous devez cocher cette case pour soumettre le formulaire."),
    )
    expect(page.get_by_text("Votre demande a été soumise.")).to_have_count(0)
    assert count(portal, Request) == before


def test_the_remove_form_refuses_bad_input_beside_each_field(
    portal: Portal, screens: Screens, responsable: str
) -> None:
    """Retirer une relation: nothing chosen, then « Une ou plusieurs relation(s) » without a
    relation, no attestation: French errors beside each field and in the summary; no request."""
    before = count(portal, Request)
    page = screens.page
    j.log_in(page, responsable)
    j.open_firm(page)
    j.open_remove_form(page, "Julie Gagnon")
    page.get_by_role("button", name="Soumettre", exact=True).click()
    errors_shown(page, ("J'atteste", "Vous devez cocher cette case pour soumettre le formulaire."))
    expect(
        summary(page).get_by_role("button", name=re.compile("^Quel\\(s\\) sujet"))
    ).to_contain_text("Ce champ est obligatoire.")
    page.get_by_role("radio", name="Une ou plusieurs relation(s)").check()
    page.get_by_role("button", name="Soumettre", exact=True).click()
    errors_shown(page)
    expect(
        summary(page).get_by_role("button", name=re.compile("^Relation\\(s\\) à retirer"))
    ).to_contain_text("Choisissez au moins un élément.")
    screens.look("Retirer un membre, erreurs")
    expect(page.get_by_text("Votre demande a été soumise.")).to_have_count(0)
    assert count(portal, Request) == before
