"""directory_entry and directory_unit: who does what (issue 18, item 5)

Revision ID: 1300_directory
Revises: 1101_check_in
Create Date: 2026-12-02 04:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1300_directory'
down_revision = '1101_check_in'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'directory_entry',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=120), nullable=False),
        sa.Column('help_with', sa.Text(), nullable=False),
        sa.Column('phone', sa.String(length=40), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('other_contact', sa.String(length=200), nullable=False),
        sa.Column('days_override', sa.String(length=200), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'],
                                name=op.f('fk_directory_entry_user_id_user_account'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'],
                                name=op.f('fk_directory_entry_updated_by_id_user_account'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_directory_entry')),
    )
    op.create_table(
        'directory_unit',
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id'],
                                name=op.f('fk_directory_unit_unit_id_unit'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('unit_id', name=op.f('pk_directory_unit')),
    )


def downgrade():
    op.drop_table('directory_unit')
    op.drop_table('directory_entry')
