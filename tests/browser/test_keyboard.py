"""Each journey once with the keyboard alone (Tab, Shift+Tab, Enter, Space, arrows; no click):
every control reached shows its focus, and after each action the focus lands where a person
looks next (the new page's title, the confirmation, the error summary)."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import (
    FIRM,
    FIRM_NUMBER,
    PASSWORD,
    Portal,
    Screens,
    firm_responsable,
)
from tests.browser.keyboard import Keyboard

ADD = "Ajouter une relation ou des sujets autorisés à un contact"


def heading(page, name):
    return page.get_by_role("heading", name=name, level=1)


def a_member_with_credentials(portal: Portal, first: str, last: str, email: str) -> tuple[str, str]:
    """A member of the firm and her linking credentials, as the courriel explicatif gives
    them; returns (identifier, code)."""
    from catalogue_svc.linking.service import issue
    from catalogue_svc.profiles.models import Contact, ContactRelation, Organisation

    with portal.db() as session:
        firm = session.scalar(select(Organisation).where(Organisation.client_number == FIRM_NUMBER))
        assert firm is not None
        contact = Contact(first_name=first, last_name=last, email=email)
        session.add(contact)
        session.flush()
        session.add(
            ContactRelation(
                contact_id=contact.id,
                organisation_id=firm.id,
                type="responsable",
                start_date=dt.date(2024, 1, 1),
            )
        )
        credential, code = issue(contact_id=contact.id, organisation_id=firm.id)
        identifier = credential.identifier
        session.commit()
    return identifier, code


def test_first_connection_with_the_keyboard_alone(portal: Portal, screens: Screens) -> None:
    """Créer un compte, the emailed code, Se connecter, Liaison d'un profil, the profile and
    Accueil, all with Tab, Space and Enter; each new screen's title takes the focus."""
    email = "noemie.bergeron@laforce-comptable.example"
    identifier, code = a_member_with_credentials(portal, "Noémie", "Bergeron", email)
    page = screens.page
    keys = Keyboard(page, screens.problems)
    page.goto("/")
    expect(heading(page, "Se connecter")).to_be_visible()

    keys.press(page.get_by_role("link", name="Créer un compte"))
    expect(heading(page, "Création du compte")).to_be_focused()
    keys.type_into(page.get_by_label("Adresse courriel"), email)
    keys.type_into(page.get_by_label(re.compile(r"^Mot de passe")), PASSWORD)
    keys.type_into(page.get_by_label("Confirmez le mot de passe"), PASSWORD)
    keys.press(page.get_by_role("button", name="Suivant"))
    expect(page.get_by_text("Étape 2 de 2")).to_be_visible()
    expect(page.get_by_label(re.compile("^Prénom"))).to_be_focused()
    page.keyboard.type("Noémie")
    keys.type_into(page.get_by_label(re.compile(r"^Nom")), "Bergeron")
    with page.context.expect_page() as opened:
        keys.press(page.get_by_role("link", name=re.compile("Lire les conditions d'utilisation")))
    terms = opened.value
    expect(terms.get_by_role("heading", name="Conditions d'utilisation")).to_be_visible()
    terms.close()
    keys.check(page.get_by_label(re.compile("J'ai lu et j'accepte les conditions")))
    keys.press(page.get_by_role("button", name="Créer mon compte"))

    expect(heading(page, "Valider le code")).to_be_focused()
    screens.look("Valider le code (clavier)")
    sent = re.search(r"\b(\d{6})\b", portal.mail_text(email))
    assert sent
    keys.type_into(page.get_by_label("Code à usage unique"), sent.group(1))
    keys.press(page.get_by_role("button", name="Valider le code"))

    expect(heading(page, "Se connecter")).to_be_focused()
    expect(page.get_by_text("Votre adresse courriel est confirmée.")).to_be_visible()
    keys.type_into(page.get_by_label(re.compile(r"^Mot de passe")), PASSWORD)
    keys.press(page.get_by_role("button", name="Connexion"))

    expect(heading(page, "Liaison d'un profil")).to_be_focused()
    keys.press(page.get_by_role("link", name="Utiliser des coordonnées de liaison"))
    expect(page.get_by_text("Conservez le courriel explicatif")).to_be_visible()
    keys.press(page.get_by_role("link", name="Commencer"))
    expect(page.get_by_label("Identifiant de liaison")).to_be_visible()
    keys.type_into(page.get_by_label("Identifiant de liaison"), identifier)
    keys.type_into(page.get_by_label("Code de liaison"), code)
    keys.press(page.get_by_role("button", name="Lier"))
    done = page.get_by_role("status").filter(has_text="La liaison est réussie.")
    expect(done).to_be_focused()
    screens.look("Liaison réussie (clavier)")

    keys.press(page.get_by_role("link", name="Sélectionnez un profil").last)
    expect(heading(page, "Sélectionnez un profil")).to_be_focused()
    keys.press(page.get_by_role("link", name=FIRM))
    expect(heading(page, "Accueil")).to_be_focused()
    expect(page.get_by_text(f"Bonjour Noémie, vous êtes dans le profil de {FIRM}")).to_be_visible()


def log_in(keys: Keyboard, email: str, password: str = PASSWORD) -> None:
    """Se connecter with the keyboard, then the firm's profile: Accueil's title has the focus."""
    page = keys.page
    page.goto("/#/connexion")
    expect(heading(page, "Se connecter")).to_be_visible()
    expect(page.get_by_label("Adresse courriel")).to_be_focused()  # where the page puts it
    page.keyboard.type(email)
    keys.type_into(page.get_by_label(re.compile(r"^Mot de passe")), password)
    keys.press(page.get_by_role("button", name="Connexion"))
    expect(heading(page, "Sélectionnez un profil")).to_be_focused()
    keys.press(page.get_by_role("link", name=FIRM))
    expect(heading(page, "Accueil")).to_be_focused()


def menu(keys: Keyboard, name: str) -> None:
    """A link of the main menu, reached with Shift+Tab from the page's content (« Mon
    organisation » opened with Enter for Relations et autorisations); its title takes the
    focus."""
    page = keys.page
    nav = page.get_by_role("navigation", name="Menu principal")
    if name == "Relations et autorisations":
        keys.press(nav.get_by_role("button", name="Mon organisation"), back=True)
        link = nav.get_by_role("link", name=name)
        keys.expect_focus_on(link)
        page.keyboard.press("Enter")
    else:
        keys.press(nav.get_by_role("link", name=name), back=True)
    expect(heading(page, name)).to_be_focused()


def test_relations_and_a_new_member_with_the_keyboard_alone(
    portal: Portal, screens: Screens
) -> None:
    """Relations et autorisations (a contact's details, the lists, the contact filter chosen
    with the arrows and « Filtrer »), then Ajouter une relation: a new member without client
    number, applied; the focus follows each step."""
    page = screens.page
    keys = Keyboard(page, screens.problems)
    log_in(keys, firm_responsable(portal))

    menu(keys, "Relations et autorisations")
    expect(page.get_by_role("heading", name="Contacts de l'organisation")).to_be_visible()
    keys.press(page.get_by_role("link", name=re.compile("Bérard")))
    details = page.get_by_role("region", name=re.compile("Bérard"))
    expect(details).to_be_focused()
    expect(details).to_contain_text("514 555-0100 poste 214")
    keys.press(page.get_by_role("link", name="Relations de l'organisation"), back=True)
    expect(heading(page, "Relations et autorisations")).to_be_focused()
    expect(page.get_by_role("heading", name="Relations de l'organisation")).to_be_visible()
    keys.press(page.get_by_role("link", name="Autorisations", exact=True))
    expect(heading(page, "Relations et autorisations")).to_be_focused()
    chooser = page.get_by_label("Contacts de l'organisation")
    keys.choose(chooser, "Marie-Karine Bérard")
    expect(page).not_to_have_url(re.compile("contact_id"))  # the arrows reload nothing
    keys.expect_focus_on(chooser)
    keys.press(page.get_by_role("button", name="Filtrer"))
    expect(page).to_have_url(re.compile(r"contact_id=\d+"))
    expect(page.get_by_label("Contacts de l'organisation")).to_be_focused()
    rows = page.get_by_role("row").filter(has_text="Marie-Karine Bérard")
    expect(rows.first).to_be_visible()
    expect(page.get_by_role("row")).to_have_count(rows.count() + 1)  # hers, and the header

    menu(keys, "Catalogue de services")
    keys.press(page.get_by_role("link", name="Autorisations", exact=True))
    expect(heading(page, "Autorisations")).to_be_focused()
    keys.press(page.get_by_role("link", name=ADD))
    expect(heading(page, ADD)).to_be_focused()
    keys.check(page.get_by_label("Le contact n'existe pas"))
    group = page.get_by_role("group", name=re.compile("Informations personnelles du nouveau"))
    keys.type_into(group.get_by_label(re.compile("^Prénom")), "Éloïse")
    keys.type_into(group.get_by_label(re.compile("^Nom")), "Paquin")
    birth = group.get_by_label(re.compile("^Date de naissance"))
    keys.type_date(birth, "1988-09-23")
    keys.type_into(
        group.get_by_label(re.compile("^Adresse courriel")),
        "eloise.paquin@laforce-comptable.example",
    )
    keys.pick(
        page.get_by_role("group", name=re.compile("^Choisir la relation à ajouter")).get_by_role(
            "radio", name="Membre du personnel"
        )
    )
    for box in page.get_by_role("checkbox", name=re.compile("^J'atteste")).all():
        keys.check(box)
    keys.press(page.get_by_role("button", name="Soumettre", exact=True))
    done = page.get_by_role("status").filter(has_text="Votre demande a été soumise.")
    expect(done).to_be_focused()
    screens.look("Ajouter un membre, soumise (clavier)")
    keys.press(page.get_by_role("link", name="Suivre la demande"))
    expect(heading(page, re.compile("^Demande "))).to_be_focused()
    expect(page.get_by_text("Appliquée").first).to_be_visible()
    mail = portal.mail_text("eloise.paquin@laforce-comptable.example")
    assert re.search(r"Identifiant de liaison : \S+", mail), mail
