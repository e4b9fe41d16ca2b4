"""mail opt-outs: a person turns off optional notification mails

Revision ID: 0960_mail_opt_out
Revises: 0930_login_sessions
Create Date: 2026-12-01 22:40:00

One row per (user, topic) a person does not want mail about; no row means told.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0960_mail_opt_out'
down_revision = '0930_login_sessions'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'mail_opt_out',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('topic', sa.String(length=40), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'],
                                name=op.f('fk_mail_opt_out_user_id_user_account'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'topic', name=op.f('pk_mail_opt_out')),
    )


def downgrade():
    op.drop_table('mail_opt_out')
