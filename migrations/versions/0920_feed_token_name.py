"""feed_token.name: several named links per feed (one per device)

Revision ID: 0920_feed_token_name
Revises: 0905_outbox_in_core
Create Date: 2026-12-01 22:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0920_feed_token_name'
down_revision = '0905_outbox_in_core'
branch_labels = None
depends_on = None


def upgrade():
    # Links made before names keep none: the feeds page shows them by feed and date.
    with op.batch_alter_table('feed_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=60), nullable=True))


def downgrade():
    with op.batch_alter_table('feed_token', schema=None) as batch_op:
        batch_op.drop_column('name')
