"""The supervisor's File de validation in a real browser: who holds each request, « Confier à… »
another agent, the « Indicateurs de la file »; and the date the responsable is told in Mes
demandes (issue 17, items 4 and 5)."""

from __future__ import annotations

import re
import secrets
import time

from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser import journeys as j
from tests.browser.harness import Portal, Screens

ADD_RELATION = "Ajouter une relation ou des sujets autorisés à un contact"


def new_agent(portal: Portal, first: str, last: str, *, supervisor: bool = False) -> str:
    """An agent account (a supervisor too if asked), as the operator's commands make them;
    returns its email (password ``j.PASSWORD``)."""
    from catalogue_svc.agents.service import create_agent, make_supervisor

    email = f"{first.lower()}-{secrets.token_hex(3)}@catalogue.example"
    with portal.db() as session:
        create_agent(email=email, password=j.PASSWORD, first_name=first, last_name=last)
        if supervisor:
            make_supervisor(email=email)
        session.commit()
    return email


def waiting_for_an_agent(portal: Portal, number: str, timeout: float = 90.0) -> None:
    """Once the checks ran, the request waits in the File de validation."""
    from catalogue_svc.requests.models import Request

    deadline = time.monotonic() + timeout
    while True:
        with portal.db() as session:
            state = session.scalar(select(Request.state).where(Request.number == number))
        if state == "agent_validation" or time.monotonic() > deadline:
            assert state == "agent_validation", f"{number} : {state}"
            return
        time.sleep(0.2)


def told(portal: Portal, number: str) -> str:
    """What the API tells the submitter of the request's expected decision."""
    from catalogue_svc.requests.models import Request
    from catalogue_svc.sla.clock import expected_decision

    with portal.db() as session:
        request = session.scalar(select(Request).where(Request.number == number))
        return expected_decision(request)["expected_decision_text"]


def test_a_supervisor_confides_a_claimed_request_and_reads_the_figures(
    portal: Portal, screens: Screens
) -> None:
    """Béatrice holds a request; Sophie, supervisor, sees it is hers, confides it to Chloé, who
    finds it held by her and has no supervisor's control; Sophie reads the queue's figures;
    the responsable sees « Décision prévue au plus tard le … » in Mes demandes."""
    page = screens.page
    email = j.firm_responsable(portal)
    beatrice = new_agent(portal, "Béatrice", "Autre")
    chloe = new_agent(portal, "Chloé", "Troisième")
    sophie = new_agent(portal, "Sophie", "Superviseure", supervisor=True)
    j.log_in(page, email)
    j.open_firm(page)
    number = j.submit_member(page, "Noémie", "Gagnon", birth="1988-06-14", client="5300201")
    waiting_for_an_agent(portal, number)

    bea = screens.another("Béatrice")
    j.log_in(bea.page, beatrice)
    expect(bea.page.get_by_role("heading", name="File de validation")).to_be_visible()
    expect(bea.page.get_by_role("link", name="Indicateurs de la file")).to_have_count(0)
    bea.page.get_by_role("link", name=number).click()
    bea.page.get_by_role("button", name="Prendre en charge").click()
    expect(bea.page.get_by_text("Vous avez pris la demande en charge.")).to_be_visible()

    boss = screens.another("Sophie")
    queue = boss.page
    j.log_in(queue, sophie)
    expect(queue.get_by_role("heading", name="File de validation")).to_be_visible()
    expect(queue.get_by_role("columnheader", name="Prise en charge par")).to_be_visible()
    expect(queue.get_by_role("row").filter(has_text=number)).to_contain_text("Béatrice Autre")
    boss.look("File de validation du superviseur")

    queue.get_by_role("link", name=number).click()
    expect(queue.get_by_role("heading", name=f"Demande {number}")).to_be_visible()
    expect(queue.get_by_text("Oui (Béatrice Autre)")).to_be_visible()
    queue.get_by_role("button", name="Confier…").click()
    expect(queue.get_by_text("Choisissez l'agent à qui confier la demande.").first).to_be_visible()
    queue.get_by_label("Confier à").select_option(label="Chloé Troisième")
    queue.get_by_role("button", name="Confier…").click()
    expect(queue.get_by_text(f"Confier la demande {number} à Chloé Troisième?")).to_be_visible()
    boss.look("Confier la demande, confirmation")
    queue.get_by_role("button", name="Oui, confier la demande").click()
    expect(queue.get_by_text("La demande est confiée à Chloé Troisième.")).to_be_visible()
    expect(queue.get_by_text("Oui (Chloé Troisième)")).to_be_visible()
    history = queue.get_by_role("region", name="Historique")
    expect(history.get_by_role("row").last).to_contain_text("Confiée à Chloé Troisième.")
    boss.look("Demande confiée")

    third = screens.another("Chloé")
    j.log_in(third.page, chloe)
    mine = third.page
    expect(mine.get_by_role("heading", name="File de validation")).to_be_visible()
    mine.get_by_label("Prise en charge").select_option(label="Prises en charge par moi")
    mine.get_by_role("button", name="Filtrer").click()
    expect(mine.get_by_role("row").filter(has_text=number)).to_contain_text("Oui (vous)")
    expect(mine.get_by_role("link", name="Indicateurs de la file")).to_have_count(0)
    mine.get_by_role("link", name=number).click()
    expect(mine.get_by_role("button", name="Remettre dans la file")).to_be_visible()
    expect(mine.get_by_label("Confier à")).to_have_count(0)
    third.look("Demande confiée, vue par l'agente")

    # In a supervisor's menu, from any screen (beside the link on the File de validation).
    j.open_menu_item(queue, "Indicateurs de la file")
    expect(queue.get_by_role("heading", name="Indicateurs de la file", level=1)).to_be_visible()
    figures = queue.get_by_role("table", name=re.compile("^Demandes par formulaire depuis le"))
    row = figures.get_by_role("row").filter(has_text=ADD_RELATION)
    cells = row.get_by_role("cell")
    expect(cells).to_have_count(5)
    received = int(cells.nth(1).inner_text())
    assert received >= 1
    expect(cells.nth(3)).to_have_text(re.compile(r"^\d+$"))
    boss.look("Indicateurs de la file")

    j.open_menu_item(page, "Mes demandes")
    expect(page.get_by_role("heading", name="Mes demandes", level=1)).to_be_visible()
    expected = told(portal, number)
    assert re.fullmatch(r"Décision prévue au plus tard le \d{1,2}(er)? \w+ \d{4}", expected)
    expect(page.get_by_role("row").filter(has_text=number)).to_contain_text(expected)
    screens.look("Mes demandes, décision prévue")


def test_the_responsable_is_told_since_when_the_request_waits_for_her(
    portal: Portal, screens: Screens
) -> None:
    """An agent asks the responsable a question: her request's page and Mes demandes say « En
    attente de votre réponse depuis le … » instead of a date of decision."""
    page = screens.page
    j.responsable_at_home(portal, page)
    number = j.submit_member(page, "Jérémie", "Pelletier", birth="1979-11-02", client="5300202")
    waiting_for_an_agent(portal, number)

    agent = screens.another("agent")
    desk = agent.page
    j.log_in(desk, new_agent(portal, "Denis", "Questions"))
    desk.get_by_role("link", name=number).click()
    desk.get_by_role("button", name="Prendre en charge").click()
    expect(desk.get_by_text("Vous avez pris la demande en charge.")).to_be_visible()
    desk.get_by_label(re.compile("^Ajouter un commentaire")).fill(
        "Pouvez-vous joindre la procuration signée?"
    )
    desk.get_by_label(re.compile("^Attend une réponse du demandeur")).check()
    desk.get_by_role("button", name="Ajouter le commentaire").click()
    expect(desk.get_by_text("Pouvez-vous joindre la procuration signée?")).to_be_visible()

    j.open_menu_item(page, "Mes demandes")
    row = page.get_by_role("row").filter(has_text=number)
    expect(row).to_contain_text("En attente de votre réponse depuis le")
    row.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", name=f"Demande {number}")).to_be_visible()
    expect(
        page.get_by_text(re.compile(r"^En attente de votre réponse depuis le \d"))
    ).to_be_visible()
    expect(page.get_by_text("Décision prévue au plus tard le")).to_have_count(0)
    screens.look("Demande en attente de la réponse du demandeur")
