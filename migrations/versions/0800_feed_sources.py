"""trepartssamtal: sequence and updated_at for calendar feeds

Revision ID: 0800_feed_sources
Revises: 0600_feeds
Create Date: 2026-11-26 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0800_feed_sources'
down_revision = '0600_feeds'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('trepartssamtal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sequence', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
    # Existing meetings: last changed when booked (or when their outcome was recorded).
    op.execute("UPDATE trepartssamtal SET updated_at = COALESCE(outcome_recorded_at, created_at)")
    with op.batch_alter_table('trepartssamtal', schema=None) as batch_op:
        batch_op.alter_column('updated_at', existing_type=sa.DateTime(timezone=True),
                              nullable=False)


def downgrade():
    with op.batch_alter_table('trepartssamtal', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
        batch_op.drop_column('sequence')
