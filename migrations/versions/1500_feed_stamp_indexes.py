"""Reservation indexes and feed_removal for the feeds' constant-time stamps (issue 20)

Per owner column (booked_by_id, booked_for_id, resource_id, agency_id): (column,
updated_at) for the latest change, and (column, cancelled_at) over cancelled reservations
only, for the latest one to leave the feed. The 304 path reads one max() of each.

Revision ID: 1500_feed_stamp_indexes
Revises: 1400_floor_plans
Create Date: 2026-12-02 04:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1500_feed_stamp_indexes'
down_revision = '1400_floor_plans'
branch_labels = None
depends_on = None

COLUMNS = ("booked_by_id", "booked_for_id", "resource_id", "agency_id")


def upgrade():
    op.create_table(
        'feed_removal',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('target_id', sa.Integer(), nullable=False),
        sa.Column('removed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_removal')),
    )
    op.create_index('ix_feed_removal_feed', 'feed_removal', ['kind', 'target_id', 'id'])
    cancelled = sa.text("cancelled_at IS NOT NULL")
    for column in COLUMNS:
        op.create_index(f"ix_reservation_{column}_updated", "reservation",
                        [column, "updated_at"])
        op.create_index(f"ix_reservation_{column}_cancelled", "reservation",
                        [column, "cancelled_at"], sqlite_where=cancelled,
                        postgresql_where=cancelled)


def downgrade():
    op.drop_index('ix_feed_removal_feed', table_name='feed_removal')
    op.drop_table('feed_removal')
    for column in COLUMNS:
        op.drop_index(f"ix_reservation_{column}_cancelled", table_name="reservation")
        op.drop_index(f"ix_reservation_{column}_updated", table_name="reservation")
