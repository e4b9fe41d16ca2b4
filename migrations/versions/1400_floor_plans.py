"""floor_plan and floor_plan_placement: floor plans to book from (issue 19)

Revision ID: 1400_floor_plans
Revises: 1200_plan_tasks
Create Date: 2026-12-02 04:15:00

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '1400_floor_plans'
down_revision = '1200_plan_tasks'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'floor_plan',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('media_type', sa.String(length=40), nullable=False),
        sa.Column('image', sa.LargeBinary(), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('image_version', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_floor_plan_site_id_site'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_floor_plan')),
        sa.UniqueConstraint('site_id', 'name', name='uq_floor_plan_site_name'),
    )
    with op.batch_alter_table('floor_plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_floor_plan_site_id'), ['site_id'], unique=False)
    op.create_table(
        'floor_plan_placement',
        sa.Column('resource_id', sa.Integer(), nullable=False),
        sa.Column('floor_plan_id', sa.Integer(), nullable=False),
        sa.Column('x', sa.Float(), nullable=False),
        sa.Column('y', sa.Float(), nullable=False),
        sa.CheckConstraint('x >= 0 AND x <= 100', name=op.f('ck_floor_plan_placement_x_in_plan')),
        sa.CheckConstraint('y >= 0 AND y <= 100', name=op.f('ck_floor_plan_placement_y_in_plan')),
        sa.ForeignKeyConstraint(['floor_plan_id'], ['floor_plan.id'],
                                name=op.f('fk_floor_plan_placement_floor_plan_id_floor_plan'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['resource_id'], ['resource.id'],
                                name=op.f('fk_floor_plan_placement_resource_id_resource'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('resource_id', name=op.f('pk_floor_plan_placement')),
    )
    with op.batch_alter_table('floor_plan_placement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_floor_plan_placement_floor_plan_id'), ['floor_plan_id'],
                              unique=False)


def downgrade():
    op.drop_table('floor_plan_placement')
    op.drop_table('floor_plan')
