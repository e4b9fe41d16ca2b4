"""The Alembic migrations produce exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from office.core.extensions import db


def test_migrations_match_models(app):
    # `database_url` was built by running every migration (see conftest._migrate).
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ; run `flask db migrate`: {diff}"


def test_foreign_keys_are_enforced(app):
    import pytest
    from sqlalchemy.exc import IntegrityError

    from office.premises.models import Resource, ResourceKind

    db.session.add(Resource(site_id=999_999, name="Orphan", kind=ResourceKind.room, capacity=1))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
