"""Fixtures of the request tests: the guide's firm, its responsable logged in, an agent, a
supervisor, and Marie-Karine's phones."""

from __future__ import annotations

import pytest

from catalogue_svc.db import db
from catalogue_svc.profiles.models import ContactPhone
from tests.accounts_helpers import link_account, login_client
from tests.factories import guide_firm


@pytest.fixture()
def firm(app):
    """The guide's firm."""
    return guide_firm(app)


@pytest.fixture()
def responsable(app, firm):
    """REBECCA, the firm's responsable, logged in and linked to the firm's profile."""
    client = login_client(
        app, email="rebecca@laforce.example", first_name="REBECCA", last_name="DESCOTEAUX-LAFORCE"
    )
    link_account(app, client.account.id, contact_id=firm.rebecca, organisation_id=firm.firm)
    return client


@pytest.fixture()
def agent(app):
    """An agent, logged in."""
    return login_client(app, role="agent", first_name="Alex", last_name="Agent")


@pytest.fixture()
def supervisor(app):
    """Sophie, an agent made supervisor of the validation queue, logged in."""
    from tests.queue_helpers import logged_in_supervisor

    return logged_in_supervisor(app)


@pytest.fixture()
def phones(app, firm):
    """Marie-Karine's two phones: a cell phone, then an office one with an extension."""
    db.session.add_all(
        [
            ContactPhone(
                contact_id=firm.marie_karine, position=0, type="cellulaire", number="514 555-0101"
            ),
            ContactPhone(
                contact_id=firm.marie_karine,
                position=1,
                type="bureau",
                number="418 555-0123",
                extension="12",
            ),
        ]
    )
    db.session.commit()
