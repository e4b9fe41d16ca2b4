"""check_in_policy and occurrence_check_in: check-in and the release of no-shows (issue 19)

Revision ID: 1101_check_in
Revises: 1100_door_screens
Create Date: 2026-12-02 01:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1101_check_in'
down_revision = '1100_door_screens'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'check_in_policy',
        sa.Column('resource_kind', sa.String(length=10), nullable=False),
        sa.Column('required', sa.Boolean(), nullable=False),
        sa.Column('grace_minutes', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('resource_kind', name=op.f('pk_check_in_policy')),
    )
    op.create_table(
        'occurrence_check_in',
        sa.Column('occurrence_id', sa.Integer(), nullable=False),
        sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('checked_in_by_id', sa.Integer(), nullable=True),
        sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('booked_until', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['checked_in_by_id'], ['user_account.id'],
                                name=op.f('fk_occurrence_check_in_checked_in_by_id_user_account'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['occurrence_id'], ['reservation_occurrence.id'],
                                name=op.f('fk_occurrence_check_in_occurrence_id_reservation_occurrence'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('occurrence_id', name=op.f('pk_occurrence_check_in')),
    )


def downgrade():
    op.drop_table('occurrence_check_in')
    op.drop_table('check_in_policy')
