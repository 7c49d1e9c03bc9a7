"""The firm's desk and the queue's urgency in a real browser: a document joined to a request,
Mes demandes filtered, the File de validation with its due time, filters and search."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from catalogue_svc.demo import DEMO_AGENT
from tests.browser import journeys as j
from tests.browser.harness import Portal, Screens

# The smallest file a PDF reader opens: the server reads its type from both ends.
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def test_a_document_joined_then_the_queue_by_urgency_filters_and_search(
    portal: Portal, screens: Screens, tmp_path
) -> None:
    """The responsable joins a PDF to a request waiting for an agent and sees it listed; Mes
    demandes filtered by form keeps it; the agent finds it by its number among the requests
    nobody claimed, with its due time in business hours, and sees the document too."""
    page = screens.page
    j.responsable_at_home(portal, page)
    number = j.submit_member(page, "Léonie", "Tremblay", birth="1990-04-05", client="5300101")
    page.get_by_role("link", name="Suivre la demande").click()
    expect(page.get_by_role("heading", name="Documents joints")).to_be_visible()
    expect(page.get_by_text("Aucun document n'est joint à cette demande.")).to_be_visible()

    # A file that is not a PDF, PNG or JPEG is refused in French beside its field.
    fake = tmp_path / "attestation.pdf"
    fake.write_bytes(b"<html><body>pas un PDF</body></html>")
    page.get_by_label("Joindre un document").set_input_files(str(fake))
    page.get_by_role("button", name="Joindre", exact=True).click()
    expect(page.locator("[aria-invalid=true]")).to_have_count(1)
    expect(page.get_by_text("Aucun document n'est joint à cette demande.")).to_be_visible()

    real = tmp_path / "procuration signée.pdf"
    real.write_bytes(PDF)
    page.get_by_label("Joindre un document").set_input_files(str(real))
    page.get_by_role("button", name="Joindre", exact=True).click()
    expect(page.get_by_text("Le document « procuration signée.pdf » est joint")).to_be_visible()
    expect(page.get_by_role("link", name="procuration signée.pdf")).to_be_visible()
    screens.look("Demande avec un document joint")

    page.get_by_role("link", name="Mes demandes").first.click()
    expect(page.get_by_role("heading", name="Mes demandes", level=1)).to_be_visible()
    page.get_by_label("Formulaire").select_option(
        label="Ajouter une relation ou des sujets autorisés à un contact"
    )
    page.get_by_role("button", name="Filtrer").click()
    expect(page.get_by_role("row").filter(has_text=number)).to_be_visible()
    expect(page.get_by_role("link", name="Exporter ces demandes (CSV)")).to_be_visible()
    screens.look("Mes demandes filtrées")

    agent = screens.another("agent")
    j.log_in(agent.page, DEMO_AGENT["email"], DEMO_AGENT["password"])
    queue = agent.page
    expect(queue.get_by_role("heading", name="File de validation")).to_be_visible()
    queue.get_by_label("Prise en charge").select_option(label="Prises en charge par personne")
    queue.get_by_label("Rechercher").fill(number)
    queue.get_by_role("button", name="Filtrer").click()
    row = queue.get_by_role("row").filter(has_text=number)
    expect(row).to_contain_text(re.compile(r"Échéance dans|En retard de"))
    expect(queue.get_by_role("row")).to_have_count(2)  # the header and this request alone
    agent.look("File de validation filtrée")
    queue.get_by_role("link", name=number).click()
    expect(queue.get_by_role("link", name="procuration signée.pdf")).to_be_visible()


def test_linking_credentials_sent_to_every_member_at_once(portal: Portal, screens: Screens) -> None:
    """Envoyer les coordonnées de liaison aux membres: the members no account is linked to are
    checked at first, one submission, each checked member receives her own code by email."""
    page = screens.page
    j.responsable_at_home(portal, page)
    j.open_menu_item(page, "Catalogue de services")
    page.get_by_role("link", name="Autorisations", exact=True).click()
    title = "Envoyer les coordonnées de liaison aux membres"
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    members = page.get_by_role("group", name=re.compile("^Membres à qui envoyer"))
    checked = [
        box.get_attribute("id") for box in members.get_by_role("checkbox").all() if box.is_checked()
    ]
    assert checked, "every member without a linked account is checked at first"
    names = [page.locator(f"label[for='{box_id}']").inner_text() for box_id in checked]
    assert not any("Responsable-" in n for n in names), names  # her own profile is linked
    # The firm's first responsable is left out (another journey follows her own first
    # connection and counts her emails): unchecked as a person would.
    for box_id, name in zip(list(checked), list(names), strict=True):
        if "DESCOTEAUX" in name.upper():
            page.locator(f"[id='{box_id}']").uncheck()
            names.remove(name)
    assert names
    screens.look("Envoyer les coordonnées de liaison")
    j.attest(page)
    page.get_by_role("button", name="Soumettre", exact=True).click()
    expect(page.get_by_text("Votre demande a été soumise.")).to_be_visible()
    with portal.db() as session:
        from sqlalchemy import select

        from catalogue_svc.profiles.models import Contact

        addresses = {
            f"{c.first_name} {c.last_name}": c.email
            for c in session.scalars(select(Contact)).all()
            if c.email
        }
    for name in names:
        address = next(a for n, a in addresses.items() if n in name or name in n)
        # In the member's language: « Code de liaison : … » or « Linking code: … ».
        assert re.search(r"(Code de liaison :|Linking code:) \S+", portal.mail_text(address))
