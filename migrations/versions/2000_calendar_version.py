"""calendar_version: one token that every change of the booking calendar replaces (issue 20)

A booking check reads closures, opening hours and which resources have allocations; each
process keeps what it read under this token (office/premises/calendar_cache.py) and only
reads it again when the token changed. Triggers write a new random token in the writer's
own transaction for any INSERT, UPDATE or DELETE of closure, opening_hours, allocation and
for a resource moved to another site, whichever code or tool writes.

A later migration that rebuilds closure, opening_hours, allocation or resource on SQLite
(`op.batch_alter_table` copies the table into a new one) drops that table's triggers: it
must create them again, as upgrade() here does.

Revision ID: 2000_calendar_version
Revises: 1600_registration_hot_path
Create Date: 2026-12-02 07:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2000_calendar_version'
down_revision = '1600_registration_hot_path'
branch_labels = None
depends_on = None

TABLES = ("closure", "opening_hours", "allocation")
SQLITE_BUMP = ("INSERT INTO calendar_version (id, token) VALUES (1, random()) "
               "ON CONFLICT (id) DO UPDATE SET token = excluded.token;")


def upgrade():
    # The row: made by the first trigger that fires, or here for a database in use (an
    # empty, freshly migrated one stays empty: copy-data fills only those). Without a row
    # there is no token and nothing is kept.
    op.create_table(
        'calendar_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_version')),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("INSERT INTO calendar_version (id, token) "
                   "SELECT 1, floor(random() * 9.0e18)::bigint WHERE EXISTS (SELECT 1 FROM site)")
        op.execute(
            "CREATE FUNCTION calendar_changed() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN "
            "INSERT INTO calendar_version (id, token) VALUES (1, floor(random() * 9.0e18)::bigint) "
            "ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token; "
            "RETURN NULL; "
            "END $$")
        for table in TABLES:
            op.execute(f"CREATE TRIGGER calendar_changed AFTER INSERT OR UPDATE OR DELETE "
                       f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                       f"EXECUTE FUNCTION calendar_changed()")
        op.execute("CREATE TRIGGER calendar_changed AFTER UPDATE OF site_id ON resource "
                   "FOR EACH STATEMENT EXECUTE FUNCTION calendar_changed()")
    else:
        op.execute("INSERT INTO calendar_version (id, token) "
                   "SELECT 1, random() WHERE EXISTS (SELECT 1 FROM site)")
        for table in TABLES:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER calendar_changed_{table}_{event.lower()} "
                           f"AFTER {event} ON {table} BEGIN {SQLITE_BUMP} END")
        op.execute("CREATE TRIGGER calendar_changed_resource_site AFTER UPDATE OF site_id "
                   f"ON resource BEGIN {SQLITE_BUMP} END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES + ("resource",):
            op.execute(f"DROP TRIGGER calendar_changed ON {table}")
        op.execute("DROP FUNCTION calendar_changed()")
    else:
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER calendar_changed_{table}_{event}")
        op.execute("DROP TRIGGER calendar_changed_resource_site")
    op.drop_table('calendar_version')
