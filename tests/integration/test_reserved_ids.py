"""Ids reserved before the insert: unique, never an existing row's, on both databases."""

from __future__ import annotations

from sqlalchemy import func, select

from catalogue_svc.db import db, reserve_id
from catalogue_svc.profiles.models import Organisation
from tests.factories import guide_firm


def test_reserved_ids_are_distinct_and_never_an_existing_row(app):
    """(An id reserved but never written may come back in a later transaction on SQLite.)"""
    guide_firm(app)
    with app.app_context():
        existing = set(db.session.scalars(select(Organisation.id)))
        for round_ in range(3):
            written = set(db.session.scalars(select(Organisation.id)))
            ids = [reserve_id(Organisation) for _ in range(40)]  # several blocks
            assert len(set(ids)) == len(ids)
            assert not set(ids) & written
            # Rows written with their reserved ids, then more rows written the usual way.
            for n, ident in enumerate(ids[:5]):
                db.session.add(
                    Organisation(
                        id=ident,
                        client_number=f"9{round_}{n:07d}",
                        name=f"R{round_}{n}",
                        kind="employer",
                    )
                )
            db.session.add(
                Organisation(
                    client_number=f"8{round_}0000000", name=f"Plain{round_}", kind="employer"
                )
            )
            db.session.commit()
        assert (
            db.session.scalar(select(func.count()).select_from(Organisation))
            == len(existing) + 3 * 6
        )


def test_a_rolled_back_reservation_is_not_handed_out_again_in_the_same_transaction(app):
    with app.app_context():
        first = reserve_id(Organisation)
        savepoint = db.session.begin_nested()
        inner = reserve_id(Organisation)
        savepoint.rollback()
        assert reserve_id(Organisation) not in (first, inner)
        db.session.rollback()
