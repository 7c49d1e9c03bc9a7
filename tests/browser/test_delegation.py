"""Ajouter une relation ou des sujets autorisés › *Une autre organisation*: a client's subjects
delegated to an existing member of the firm, followed to its outcome and seen in the lists."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser import journeys as j
from tests.browser.harness import Portal, Screens

CLIENT = "ENTREPRISE SHAW INC."


def test_a_clients_subjects_delegated_to_a_member(portal: Portal, screens: Screens) -> None:
    """Julie Gagnon receives a subject of ENTREPRISE SHAW INC. in read and write: the request
    is applied at once (an existing contact, nothing to validate), Mes demandes says so, and
    the Autorisations list shows the subject on the client's file for her."""
    page = screens.page
    j.responsable_at_home(portal, page)
    j.open_add_form(page)
    page.get_by_label(re.compile("^Contact dans ce profil")).select_option(label="Julie Gagnon")
    page.get_by_label("Une autre organisation").check()
    organisation = page.get_by_label(re.compile("^Choisir l'organisation en relation"))
    (label,) = [t for t in organisation.locator("option").all_inner_texts() if CLIENT in t]
    organisation.select_option(label=label)
    subjects = page.get_by_role(
        "group", name=re.compile("^Sujets autorisés en lecture et écriture")
    )
    expect(subjects.get_by_role("checkbox").first).to_be_visible()
    chosen = subjects.get_by_role("checkbox").first
    subject = page.locator(f"label[for='{chosen.get_attribute('id')}']").inner_text()
    chosen.check()
    j.attest(page)
    screens.look("Déléguer les sujets d'un client")
    page.get_by_role("button", name="Soumettre", exact=True).click()
    expect(page.get_by_text("Votre demande a été soumise.")).to_be_visible()
    page.get_by_role("link", name="Suivre la demande").click()
    expect(page.get_by_text("Appliquée").first).to_be_visible()
    expect(page.locator("main")).to_contain_text(CLIENT)

    j.open_menu_item(page, "Relations et autorisations")
    page.get_by_role("link", name="Autorisations", exact=True).click()
    rows = page.get_by_role("row").filter(has_text="Julie Gagnon").filter(has_text=CLIENT)
    expect(rows.filter(has_text=subject.split(" (")[0]).first).to_be_visible()
    screens.look("Autorisations après la délégation")
