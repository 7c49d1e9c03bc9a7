"""Bad input on the forms: every error beside its field and in the summary, in French."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import func, select

from catalogue_svc.requests.models import Request
from tests.browser.conftest import Portal, Screens, firm_responsable, log_in, open_firm
from tests.browser.test_forms import open_add_form

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
ENGLISH = re.compile(r"\b(required|invalid|field|must|error|missing)\b", re.I)


def summary(page):
    return page.get_by_role("alert").filter(has=page.get_by_role("list"))


def check_error(page, label: str, message: str) -> None:
    """``message`` beside the field (its description, marked invalid) and in the summary."""
    control = page.get_by_label(re.compile(f"^{re.escape(label)}"))
    expect(control).to_have_attribute("aria-invalid", "true")
    expect(control).to_have_accessible_description(re.compile(re.escape(message)))
    item = summary(page).get_by_role("button", name=re.compile(f"^{re.escape(label)} : "))
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
    log_in(page, firm_responsable(portal))
    open_firm(page)
    open_add_form(page)
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
