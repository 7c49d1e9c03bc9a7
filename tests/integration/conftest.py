"""Fixtures of the request tests: the guide's firm and its responsable, logged in."""

from __future__ import annotations

import pytest

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
