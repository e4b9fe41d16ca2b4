"""outbox_mail.render_with and render_args: body and .ics written after the commit (issue 20)

A registration queues its mail with what the renderer needs; the body and calendar file
are written after the seminar's lock is released (or by the sender), not under it.

Revision ID: 1600_outbox_deferred_render
Revises: 1500_feed_stamp_indexes
Create Date: 2026-12-02 05:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1600_outbox_deferred_render'
down_revision = '1500_feed_stamp_indexes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_mail') as batch_op:
        batch_op.add_column(sa.Column('render_with', sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column('render_args', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox_mail') as batch_op:
        batch_op.drop_column('render_args')
        batch_op.drop_column('render_with')
