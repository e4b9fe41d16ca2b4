"""door_screen: device links for the tablets by the doors (issue 19)

Revision ID: 1100_door_screens
Revises: 1000_meeting_work
Create Date: 2026-12-02 01:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1100_door_screens'
down_revision = '1000_meeting_work'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'door_screen',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('resource_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('show_titles', sa.Boolean(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'],
                                name=op.f('fk_door_screen_created_by_id_user_account'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['resource_id'], ['resource.id'],
                                name=op.f('fk_door_screen_resource_id_resource')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_door_screen')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_door_screen_token_hash')),
    )
    with op.batch_alter_table('door_screen', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_door_screen_resource_id'), ['resource_id'], unique=False)


def downgrade():
    with op.batch_alter_table('door_screen', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_door_screen_resource_id'))
    op.drop_table('door_screen')
