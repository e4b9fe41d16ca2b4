"""Registrations off the lock: mails rendered after the commit, kept counts (issue 20)

outbox_mail.render_with and render_args: a registration queues its mail with what the
renderer needs; the body and calendar file are written after the seminar's lock is
released (or by the sender), not under it. seminar.confirmed_count and waiting_count:
kept under the seminar's lock, so registering does not count the registrations.

Revision ID: 1600_registration_hot_path
Revises: 1500_feed_stamp_indexes
Create Date: 2026-12-02 05:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1600_registration_hot_path'
down_revision = '1500_feed_stamp_indexes'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD/DROP COLUMN (SQLite >= 3.35 has both): a batch table copy of `seminar` on
    # SQLite would cascade to its registrations.
    op.add_column('outbox_mail', sa.Column('render_with', sa.String(length=50), nullable=True))
    op.add_column('outbox_mail', sa.Column('render_args', sa.Text(), nullable=True))
    op.add_column('seminar', sa.Column('confirmed_count', sa.Integer(), nullable=False,
                                       server_default='0'))
    op.add_column('seminar', sa.Column('waiting_count', sa.Integer(), nullable=False,
                                       server_default='0'))
    for column, status in (('confirmed_count', 'confirmed'), ('waiting_count', 'waiting')):
        op.execute(
            f"UPDATE seminar SET {column} = (SELECT count(*) FROM seminar_registration r "
            f"WHERE r.seminar_id = seminar.id AND r.status = '{status}')")


def downgrade():
    # Mails still waiting for their body get a plain one rather than none.
    op.execute("UPDATE outbox_mail SET body = subject WHERE render_with IS NOT NULL")
    op.drop_column('seminar', 'waiting_count')
    op.drop_column('seminar', 'confirmed_count')
    op.drop_column('outbox_mail', 'render_args')
    op.drop_column('outbox_mail', 'render_with')
