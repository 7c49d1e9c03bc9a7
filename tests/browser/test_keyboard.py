"""Each journey once with the keyboard alone (Tab, Shift+Tab, Enter, Space, arrows; no click):
every control reached shows its focus, and after each action the focus lands where a person
looks next (the new page's title, the confirmation, the error summary)."""

from __future__ import annotations

import re
import time
from email.message import Message

import pytest
from playwright.sync_api import expect

from catalogue_svc.demo import DEMO_AGENT
from tests.browser import journeys as j
from tests.browser.harness import Portal, Screens
from tests.browser.journeys import ADD, FIRM, PASSWORD
from tests.browser.keyboard import Keyboard


@pytest.fixture(scope="module")
def responsable(portal: Portal) -> str:
    """One responsable of the firm for this module's journeys (each new contact lengthens the
    firm's lists that other tests read on one page)."""
    return j.firm_responsable(portal)


def mail_about(portal: Portal, address: str, *words: str, timeout: float = 90.0) -> Message:
    """The first message to ``address`` whose subject holds every one of ``words``, once it
    arrived (an address may receive others meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        for message in portal.mailbox.to(address):
            if all(word in str(message["Subject"]) for word in words):
                return message
        subjects = [str(m["Subject"]) for m in portal.mailbox.to(address)]
        assert time.monotonic() < deadline, f"aucun courriel {words} pour {address} : {subjects}"
        time.sleep(0.2)


def heading(page, name):
    return page.get_by_role("heading", name=name, level=1)


def a_member_with_credentials(portal: Portal, first: str, last: str, email: str) -> tuple[str, str]:
    """A member of the firm and her linking credentials, as the courriel explicatif gives
    them; returns (identifier, code)."""
    from catalogue_svc.linking.service import issue

    with portal.db() as session:
        contact_id, firm_id = j.add_to_firm(session, first, last, email, "responsable")
        credential, code = issue(contact_id=contact_id, organisation_id=firm_id)
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


def log_in(keys: Keyboard, email: str, password: str = PASSWORD, *, agent: bool = False) -> None:
    """Se connecter with the keyboard, then the firm's profile: Accueil's title has the focus
    (an agent's: File de validation)."""
    page = keys.page
    page.goto("/#/connexion")
    expect(heading(page, "Se connecter")).to_be_visible()
    expect(page.get_by_label("Adresse courriel")).to_be_focused()  # where the page puts it
    page.keyboard.type(email)
    keys.type_into(page.get_by_label(re.compile(r"^Mot de passe")), password)
    keys.press(page.get_by_role("button", name="Connexion"))
    if agent:
        expect(heading(page, "File de validation")).to_be_focused()
        return
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


def submit_new_member(
    keys: Keyboard,
    first: str,
    last: str,
    email: str,
    birth: str,
    client: str = "",
    *,
    forgetting_to_attest: bool = False,
) -> str:
    """Catalogue de services › Autorisations › Ajouter une relation: « Le contact n'existe pas »,
    a Membre du personnel, the attestations, « Soumettre »: the confirmation has the focus;
    returns the request's number. ``forgetting_to_attest``: « Soumettre » first without the
    attestations, the error summary has the focus, and its item leads to the box to tick."""
    page = keys.page
    menu(keys, "Catalogue de services")
    keys.press(page.get_by_role("link", name="Autorisations", exact=True))
    expect(heading(page, "Autorisations")).to_be_focused()
    keys.press(page.get_by_role("link", name=ADD))
    expect(heading(page, ADD)).to_be_focused()
    keys.check(page.get_by_label("Le contact n'existe pas"))
    group = page.get_by_role("group", name=re.compile("Informations personnelles du nouveau"))
    keys.type_into(group.get_by_label(re.compile("^Prénom")), first)
    keys.type_into(group.get_by_label(re.compile("^Nom")), last)
    keys.type_date(group.get_by_label(re.compile("^Date de naissance")), birth)
    keys.type_into(group.get_by_label(re.compile("^Adresse courriel")), email)
    if client:
        keys.type_into(group.get_by_label(re.compile("^Numéro de client")), client)
    keys.pick(
        page.get_by_role("group", name=re.compile("^Choisir la relation à ajouter")).get_by_role(
            "radio", name="Membre du personnel"
        )
    )
    if forgetting_to_attest:
        keys.press(page.get_by_role("button", name="Soumettre", exact=True))
        box = page.get_by_role("alert").filter(has=page.get_by_role("list"))
        expect(box).to_be_focused()
        keys.press(box.get_by_role("button", name=re.compile("^J'atteste")).first)
        keys.expect_focus_on(page.get_by_role("checkbox", name=re.compile("^J'atteste")).first)
        page.keyboard.press("Space")
    attest(keys)
    keys.press(page.get_by_role("button", name="Soumettre", exact=True))
    done = page.get_by_role("status").filter(has_text="Votre demande a été soumise.")
    expect(done).to_be_focused()
    return done.locator("strong").inner_text()


def attest(keys: Keyboard) -> None:
    """Each « J'atteste… » ticked with Space."""
    for box in keys.page.get_by_role("checkbox", name=re.compile("^J'atteste")).all():
        if not box.is_checked():
            keys.check(box)


def test_relations_and_a_new_member_with_the_keyboard_alone(
    portal: Portal, screens: Screens, responsable: str
) -> None:
    """Relations et autorisations (a contact's details, the lists, the contact filter chosen
    with the arrows and « Filtrer »), then Ajouter une relation: a new member without client
    number, applied; the focus follows each step."""
    page = screens.page
    keys = Keyboard(page, screens.problems)
    log_in(keys, responsable)

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

    number = submit_new_member(
        keys,
        "Éloïse",
        "Paquin",
        "eloise.paquin@laforce-comptable.example",
        "1988-09-23",
        forgetting_to_attest=True,
    )
    screens.look("Ajouter un membre, soumise (clavier)")
    keys.press(page.get_by_role("link", name="Suivre la demande"))
    expect(heading(page, f"Demande {number}")).to_be_focused()
    expect(page.get_by_text("Appliquée").first).to_be_visible()
    mail = portal.mail_text("eloise.paquin@laforce-comptable.example")
    assert re.search(r"Identifiant de liaison : \S+", mail), mail


def test_the_agent_decides_with_the_keyboard_alone(
    portal: Portal, screens: Screens, responsable: str
) -> None:
    """Two members with a client number submitted, then the agent finds each in the File de
    validation, claims it, approves one with a merge (a radio chosen with the arrows) and
    refuses the other with a reason; the responsable sees both outcomes in Mes demandes."""
    page = screens.page
    keys = Keyboard(page, screens.problems)
    log_in(keys, responsable)
    merged = submit_new_member(
        keys,
        "Marie-Hélène",
        "Demierre",
        "mh.demierre@laforce-comptable.example",
        "1991-02-27",
        "5300011",
    )
    expect(page.get_by_text("État : Soumise")).to_be_visible()
    refused = submit_new_member(
        keys, "Paul", "Lavallée", "paul.lavallee@laforce-comptable.example", "1985-03-03", "5300012"
    )

    agent = screens.another("agent")
    queue = agent.page
    desk = Keyboard(queue, screens.problems)
    log_in(desk, DEMO_AGENT["email"], DEMO_AGENT["password"], agent=True)

    def open_request(number: str) -> None:
        desk.type_into(queue.get_by_label("Rechercher"), number)
        desk.press(queue.get_by_role("button", name="Filtrer"))
        expect(queue).to_have_url(re.compile(f"q={number}"))
        desk.press(queue.get_by_role("link", name=number))
        expect(heading(queue, f"Demande {number}")).to_be_focused()
        desk.press(queue.get_by_role("button", name="Prendre en charge"))
        expect(heading(queue, f"Demande {number}")).to_be_focused()
        expect(queue.get_by_text("Vous avez pris la demande en charge.")).to_be_visible()

    open_request(merged)
    expect(queue.get_by_role("row").filter(has_text="Marie-Hélène Demierre (n°")).to_contain_text(
        "Probable"
    )
    desk.pick(queue.get_by_role("radio", name="Utiliser le contact Marie-Hélène Demierre"))
    desk.press(queue.get_by_role("button", name="Approuver"))
    expect(heading(queue, f"Demande {merged}")).to_be_focused()
    expect(
        queue.get_by_text("La demande est approuvée (fusion avec le contact existant).")
    ).to_be_visible()
    agent.look("Demande approuvée (clavier)")

    desk.press(queue.get_by_role("link", name="File de validation").first, back=True)
    expect(heading(queue, "File de validation")).to_be_focused()
    open_request(refused)
    reason = "Ce numéro de client appartient à une autre personne."
    desk.type_into(queue.get_by_label(re.compile("^Motif du refus")), reason)
    desk.press(queue.get_by_role("button", name="Refuser"))
    expect(heading(queue, f"Demande {refused}")).to_be_focused()
    expect(queue.get_by_text("La demande est refusée.")).to_be_visible()

    mail_about(portal, responsable, merged, "appliquée")
    mail_about(portal, responsable, refused, "refusée")
    menu(keys, "Mes demandes")
    expect(page.get_by_role("row").filter(has_text=merged)).to_contain_text("Appliquée")
    expect(page.get_by_role("row").filter(has_text=refused)).to_contain_text("Refusée")
    keys.press(page.get_by_role("link", name=refused))
    expect(heading(page, f"Demande {refused}")).to_be_focused()
    expect(page.get_by_text(reason).first).to_be_visible()


def open_contact(keys: Keyboard, name: str) -> None:
    """Relations et autorisations › the contact's name: her details have the focus."""
    page = keys.page
    menu(keys, "Relations et autorisations")
    keys.press(page.get_by_role("link", name=name, exact=True))
    expect(page.get_by_role("region", name=name)).to_be_focused()


def submit_until_applied(keys: Keyboard) -> None:
    """The attestations, « Soumettre »: the confirmation has the focus; then « Suivre la
    demande »: the request's page says Appliquée."""
    page = keys.page
    attest(keys)
    keys.press(page.get_by_role("button", name="Soumettre", exact=True))
    expect(
        page.get_by_role("status").filter(has_text="Votre demande a été soumise.")
    ).to_be_focused()
    keys.press(page.get_by_role("link", name="Suivre la demande"))
    expect(heading(page, re.compile("^Demande "))).to_be_focused()
    expect(page.get_by_text("Appliquée").first).to_be_visible()


def test_modify_and_remove_a_member_with_the_keyboard_alone(
    portal: Portal, screens: Screens, responsable: str
) -> None:
    """A member's details, « Modifier ses informations » (a phone added, a new linking code
    emailed), then the same member removed from all her relations; Mes dossiers autorisés."""
    j.new_member(portal, "Ophelie", "Marchand")
    page = screens.page
    keys = Keyboard(page, screens.problems)
    log_in(keys, responsable)

    open_contact(keys, "Ophelie Marchand")
    keys.press(page.get_by_role("link", name=re.compile("^Modifier ses informations personnelles")))
    expect(heading(page, re.compile("^Modifier les informations"))).to_be_focused()
    keys.check(page.get_by_role("checkbox", name="Coordonnées de communication"))
    expect(page.get_by_text("Valeur actuelle").first).to_be_visible()
    phone = page.get_by_role("group", name="Numéro principal")
    keys.choose(phone.get_by_label(re.compile("^Type de numéro de téléphone")), "Cellulaire")
    keys.type_into(phone.get_by_label("Numéro de téléphone", exact=True), "438 555-0142")
    keys.check(page.get_by_label("Émettre un nouveau code de liaison"))
    submit_until_applied(keys)
    assert re.search(r"Code de liaison : \S+", portal.mail_text("ophelie@exemple.test"))
    open_contact(keys, "Ophelie Marchand")
    expect(page.get_by_role("region", name="Ophelie Marchand")).to_contain_text("438 555-0142")

    keys.press(page.get_by_role("link", name="Lui retirer une relation ou des sujets autorisés"))
    expect(
        heading(page, "Retirer une relation ou des sujets autorisés à un contact")
    ).to_be_focused()
    keys.pick(page.get_by_role("radio", name="Toutes les relations"))
    submit_until_applied(keys)
    menu(keys, "Relations et autorisations")
    expect(page.get_by_role("row").filter(has_text="Ophelie Marchand")).to_contain_text("Faux")

    menu(keys, "Mes dossiers autorisés")
    expect(
        page.get_by_text("Aucun dossier d'une autre organisation ne vous est délégué")
    ).to_be_visible()


def test_account_settings_and_forgotten_password_with_the_keyboard_alone(
    portal: Portal, screens: Screens
) -> None:
    """Paramètres du compte (the password changed), Se déconnecter, then Mot de passe oublié?
    with the emailed code, and Se connecter with the new password."""
    page = screens.page
    keys = Keyboard(page, screens.problems)
    email = j.an_account(portal)
    page.goto("/#/connexion")
    expect(page.get_by_label("Adresse courriel")).to_be_focused()
    page.keyboard.type(email)
    keys.type_into(page.get_by_label(re.compile(r"^Mot de passe")), PASSWORD)
    keys.press(page.get_by_role("button", name="Connexion"))
    expect(heading(page, "Liaison d'un profil")).to_be_focused()  # linked to no profile yet

    keys.press(page.get_by_role("link", name="Paramètres du compte"), back=True)
    expect(heading(page, "Paramètres du compte")).to_be_focused()
    part = page.get_by_role("region", name="Mot de passe")
    keys.type_into(part.get_by_label("Mot de passe actuel"), PASSWORD)
    keys.type_into(part.get_by_label(re.compile("^Nouveau mot de passe")), "Chouette-Rousse-2027")
    keys.type_into(
        part.get_by_label(re.compile("^Confirmez le nouveau mot de passe")), "Chouette-Rousse-2027"
    )
    keys.press(part.get_by_role("button", name="Changer le mot de passe"))
    expect(part.get_by_role("status")).to_be_focused()
    expect(part.get_by_role("status")).to_contain_text("mot de passe")
    assert str(portal.mails_to(email, 1)[0]["Subject"]) == "Votre mot de passe a été modifié"

    keys.press(page.get_by_role("button", name="Se déconnecter"), back=True)
    expect(heading(page, "Se connecter")).to_be_focused()
    expect(page.get_by_text("Vous êtes déconnecté.")).to_be_visible()
    keys.press(page.get_by_role("link", name="Mot de passe oublié?"))
    expect(heading(page, "Mot de passe oublié?")).to_be_focused()
    keys.type_into(page.get_by_label("Adresse courriel").first, email)
    keys.press(page.get_by_role("button", name="Recevoir un code"))
    expect(page.get_by_role("status").first).to_be_focused()
    code = re.search(r"\b(\d{6})\b", portal.mail_text(email, 2))
    assert code
    part = page.get_by_role("region", name="Choisir un nouveau mot de passe")
    expect(part.get_by_label("Adresse courriel")).to_have_value(email)
    keys.type_into(part.get_by_label(re.compile("^Code reçu par courriel")), code.group(1))
    keys.type_into(part.get_by_label(re.compile("^Nouveau mot de passe")), "Girafe-Verte-Quai-2028")
    keys.type_into(
        part.get_by_label(re.compile("^Confirmez le nouveau mot de passe")),
        "Girafe-Verte-Quai-2028",
    )
    keys.press(part.get_by_role("button", name="Changer le mot de passe"))
    expect(heading(page, "Se connecter")).to_be_focused()
    expect(page.get_by_label("Adresse courriel")).to_have_value(email)
    keys.type_into(page.get_by_label(re.compile(r"^Mot de passe")), "Girafe-Verte-Quai-2028")
    keys.press(page.get_by_role("button", name="Connexion"))
    expect(heading(page, "Liaison d'un profil")).to_be_focused()
