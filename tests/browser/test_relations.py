"""Relations et autorisations in a real browser: the three lists, a contact's details, the filter."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser import journeys as j
from tests.browser.harness import Portal, Screens

# The guide's count line; the whole list on one page, or its first page when others added rows.
ROWS = re.compile(r"Rangées 1 - (\d+) de (\d+)$")


def columns(page) -> list[str]:
    return [t.split("\n")[0].strip() for t in page.get_by_role("columnheader").all_inner_texts()]


def test_the_three_lists_a_contact_and_the_filter(portal: Portal, screens: Screens) -> None:
    """Contacts, relations and autorisations with the guide's columns, a contact's phones and
    language, and the contact filter chosen with its button."""
    page = screens.page
    j.responsable_at_home(portal, page)
    j.open_menu_item(page, "Relations et autorisations")

    expect(page.get_by_role("heading", name="Relations et autorisations", level=1)).to_be_visible()
    expect(page.get_by_text("peut prendre jusqu'à 24 heures")).to_be_visible()
    expect(page.get_by_role("heading", name="Contacts de l'organisation")).to_be_visible()
    expect(page.get_by_text(ROWS)).to_be_visible()
    assert columns(page) == ["Nom", "Relation", "Date de début", "Date de fin", "Actif"]
    rows = page.get_by_role("row")
    expect(rows.filter(has_text="Responsable").filter(has_text="DESCOTEAUX")).to_be_visible()
    expect(rows.filter(has_text="Bérard")).to_be_visible()
    screens.look("Contacts de l'organisation")

    page.get_by_role("link", name=re.compile("Bérard")).click()
    details = page.get_by_role("region", name=re.compile("Bérard"))
    expect(details).to_be_visible()
    expect(details).to_contain_text("Langue de communication")
    expect(details).to_contain_text("Français")
    expect(details).to_contain_text("514 555-0100 poste 214")
    screens.look("Détails d'un contact")

    page.get_by_role("link", name="Relations de l'organisation").click()
    expect(page.get_by_role("heading", name="Relations de l'organisation")).to_be_visible()
    expect(page.get_by_text(ROWS)).to_be_visible()
    assert columns(page) == ["Organisation", "Type de relation", "Organisation", "Actif"]
    expect(page.get_by_role("row").filter(has_text="ENTREPRISE SHAW INC.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="PLOMBERIE RICHARD BELANGER")).to_be_visible()
    screens.look("Relations de l'organisation")

    page.get_by_role("link", name="Autorisations").click()
    expect(page.get_by_role("heading", name="Autorisations", exact=True)).to_be_visible()
    expect(page.get_by_text(ROWS)).to_be_visible()
    assert columns(page) == [
        "Sujet autorisé",
        "Droit",
        "Organisation",
        "Organisation",
        "Contact de l'organisation",
        "Fonction",
        "Actif",
    ]
    expect(
        page.get_by_text("Les sujets autorisés pour votre organisation s'affichent d'abord.")
    ).to_be_visible()
    screens.look("Autorisations")

    chooser = page.get_by_label("Contacts de l'organisation")
    chooser.focus()
    chooser.press("ArrowDown")
    chooser.press("ArrowDown")
    expect(chooser).to_be_focused()  # arrowing through the contacts reloads nothing
    chooser.select_option(label="Marie-Karine Bérard")
    page.get_by_role("button", name="Filtrer").click()
    expect(page).to_have_url(re.compile(r"contact_id=\d+"))
    expect(page.get_by_label("Contacts de l'organisation")).to_be_focused()
    screens.look("Autorisations d'un contact")
