"""plan_task: the yearly plan's recurring tasks with owner, reminder and done (issue 18, item 3)

Revision ID: 1200_plan_tasks
Revises: 1300_directory
Create Date: 2026-12-02 04:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1200_plan_tasks'
down_revision = '1300_directory'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'plan_task',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('owner_series_id', sa.Integer(), nullable=True),
        sa.Column('remind_days', sa.Integer(), nullable=False),
        sa.Column('reminded_for', sa.Date(), nullable=True),
        sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('done_by_id', sa.Integer(), nullable=True),
        sa.Column('copied_from_id', sa.Integer(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('owner_id IS NULL OR owner_series_id IS NULL',
                           name=op.f('ck_plan_task_one_owner')),
        sa.CheckConstraint('remind_days >= 0 AND remind_days <= 365',
                           name=op.f('ck_plan_task_remind_days_range')),
        sa.ForeignKeyConstraint(['owner_id'], ['user_account.id'],
                                name=op.f('fk_plan_task_owner_id_user_account'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['owner_series_id'], ['meeting_series.id'],
                                name=op.f('fk_plan_task_owner_series_id_meeting_series'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['done_by_id'], ['user_account.id'],
                                name=op.f('fk_plan_task_done_by_id_user_account'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['copied_from_id'], ['plan_task.id'],
                                name=op.f('fk_plan_task_copied_from_id_plan_task'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'],
                                name=op.f('fk_plan_task_created_by_id_user_account'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_task')),
    )
    op.create_index('ix_plan_task_due_on', 'plan_task', ['due_on'], unique=False)
    op.create_index(op.f('ix_plan_task_owner_id'), 'plan_task', ['owner_id'], unique=False)
    op.create_index(op.f('ix_plan_task_owner_series_id'), 'plan_task', ['owner_series_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_plan_task_owner_series_id'), table_name='plan_task')
    op.drop_index(op.f('ix_plan_task_owner_id'), table_name='plan_task')
    op.drop_index('ix_plan_task_due_on', table_name='plan_task')
    op.drop_table('plan_task')
