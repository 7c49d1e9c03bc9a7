"""The agent's File de validation, and what the responsable then sees and receives."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from catalogue_svc.demo import DEMO_AGENT
from tests.browser import journeys as j
from tests.browser.harness import Portal, Screens


def test_the_agent_merges_one_member_and_refuses_another(portal: Portal, screens: Screens) -> None:
    """File de validation: claim, compare, approve with a merge, reject with a reason; the
    responsable sees both outcomes in Mes demandes and receives both emails."""
    page = screens.page
    email = j.responsable_at_home(portal, page)
    merged = j.submit_member(page, "Marie-Hélène", "Demierre", birth="1991-02-27", client="5300001")
    screens.look("Demande envoyée à un agent")
    refused = j.submit_member(page, "Paul", "Lavoie", birth="1985-03-03", client="5300002")

    agent = screens.another("agent")
    j.log_in(agent.page, DEMO_AGENT["email"], DEMO_AGENT["password"])
    queue = agent.page
    expect(queue.get_by_role("heading", name="File de validation")).to_be_visible()
    expect(queue.get_by_role("row").filter(has_text=merged)).to_be_visible()
    expect(queue.get_by_role("row").filter(has_text=refused)).to_be_visible()
    agent.look("File de validation")

    queue.get_by_role("link", name=merged).click()
    expect(queue.get_by_role("heading", name=f"Demande {merged}")).to_be_visible()
    queue.get_by_role("button", name="Prendre en charge").click()
    expect(queue.get_by_text("Vous avez pris la demande en charge.")).to_be_visible()
    candidate = queue.get_by_role("row").filter(has_text="Marie-Hélène Demierre (n°")
    expect(candidate).to_contain_text("Probable")
    agent.look("Demande prise en charge, doublons")
    queue.get_by_role("radio", name="Utiliser le contact Marie-Hélène Demierre").check()
    queue.get_by_role("button", name="Approuver").click()
    expect(
        queue.get_by_text("La demande est approuvée (fusion avec le contact existant).")
    ).to_be_visible()
    agent.look("Demande approuvée")

    j.open_menu_item(queue, "File de validation")
    queue.get_by_role("link", name=refused).click()
    queue.get_by_role("button", name="Prendre en charge").click()
    expect(queue.get_by_text("Vous avez pris la demande en charge.")).to_be_visible()
    queue.get_by_label(re.compile("^Motif du refus")).fill(
        "Ce numéro de client n'appartient pas à cette personne."
    )
    queue.get_by_role("button", name="Refuser").click()
    expect(queue.get_by_text("La demande est refusée.")).to_be_visible()
    agent.look("Demande refusée")

    # The emails leave on entering applied and rejected: once both arrived, a reload shows both.
    subjects = [str(m["Subject"]) for m in portal.mails_to(email, 2)]
    assert any(merged in s and "appliquée" in s for s in subjects), subjects
    assert any(refused in s and "refusée" in s for s in subjects), subjects

    j.open_menu_item(page, "Mes demandes")
    expect(page.get_by_role("heading", name="Mes demandes", level=1)).to_be_visible()
    page.reload()
    expect(page.get_by_role("row").filter(has_text=merged)).to_contain_text("Appliquée")
    expect(page.get_by_role("row").filter(has_text=refused)).to_contain_text("Refusée")
    screens.look("Mes demandes")
    page.get_by_role("link", name=refused).click()
    # The agent's reason, as the request's « Motif » and on the refusal's line of its history.
    reason = "Ce numéro de client n'appartient pas à cette personne."
    expect(page.get_by_role("definition").filter(has_text=reason)).to_be_visible()
    history = page.get_by_role("region", name="Historique")
    expect(history.get_by_role("row").filter(has_text=reason)).to_contain_text("Refus")
    screens.look("Demande refusée")
