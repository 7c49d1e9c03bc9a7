"""What each subject allows, in a real browser (issue 18, item 5): the description beside each
subject in the add form, and the guide's article *Quelles sont les autorisations de chaque sujet
autorisé?* linked from the form and from the Autorisations list."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from forms.subject_descriptions import description
from tests.browser import journeys as j
from tests.browser.harness import Portal, Screens

ARTICLE = "Quelles sont les autorisations de chaque sujet autorisé?"
MONTHLY = description("rapport_mensuel", "fr")


def test_each_subject_says_what_it_allows_in_the_form_and_the_article(
    portal: Portal, screens: Screens
) -> None:
    """A subject's checkbox is described by what it allows; the article lists every subject by
    group with its description, reached from the Autorisations list."""
    assert MONTHLY
    page = screens.page
    j.responsable_at_home(portal, page)
    j.open_add_form(page)
    page.get_by_label("Le contact n'existe pas").check()
    page.get_by_role("group", name=re.compile("^Choisir la relation à ajouter")).get_by_role(
        "radio", name="Membre du personnel"
    ).check()
    monthly = page.get_by_role("checkbox", name=re.compile("^Rapport mensuel")).first
    expect(monthly).to_be_visible()
    expect(monthly).to_have_accessible_description(re.compile(re.escape(MONTHLY)))
    article = page.get_by_role("link", name=re.compile(re.escape(ARTICLE))).first
    expect(article).to_have_attribute("target", "_blank")
    screens.look("Sujets décrits dans le formulaire")

    j.open_menu_item(page, "Relations et autorisations")
    page.get_by_role("link", name="Autorisations", exact=True).click()
    expect(page.get_by_role("heading", name="Autorisations", exact=True)).to_be_visible()
    page.get_by_role("link", name=ARTICLE).click()
    expect(page.get_by_role("heading", name=ARTICLE, level=1)).to_be_visible()
    monthly_row = page.get_by_role("row").filter(has_text="Rapport mensuel")
    expect(monthly_row).to_contain_text(MONTHLY)
    for group in ("Chantier et conformité", "Paiements et relevés", "Profil"):
        expect(page.get_by_role("heading", name=group, level=2)).to_be_visible()
        expect(page.get_by_role("table", name=group)).to_be_visible()
    screens.look(ARTICLE)
