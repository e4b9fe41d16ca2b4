"""mail outbox in office/core: generic topic, topic_key and ics_method instead of seminar FKs

Revision ID: 0905_outbox_in_core
Revises: 0800_feed_sources
Create Date: 2026-12-01 22:00:00

Any feature may queue mail now, so the outbox names no feature's tables. Existing rows
keep what they were about as a topic ("seminar:12"), reminders get their one-per-
registration key, and calendar files keep the METHOD:PUBLISH they were sent with.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0905_outbox_in_core'
down_revision = '0800_feed_sources'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('topic', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('topic_key', sa.String(length=150), nullable=True))
        batch_op.add_column(sa.Column('ics_method', sa.String(length=10), nullable=True))
    op.execute("UPDATE outbox_mail SET topic = 'seminar:' || CAST(seminar_id AS VARCHAR(20)) "
               "WHERE seminar_id IS NOT NULL")
    op.execute("UPDATE outbox_mail SET topic_key = 'seminar:' || CAST(seminar_id AS VARCHAR(20)) "
               "|| ':reminder:' || CAST(registration_id AS VARCHAR(20)) "
               "WHERE id IN (SELECT MIN(id) FROM outbox_mail WHERE kind = 'reminder' "
               "AND seminar_id IS NOT NULL AND registration_id IS NOT NULL "
               "GROUP BY seminar_id, registration_id)")
    op.execute("UPDATE outbox_mail SET ics_method = 'PUBLISH' WHERE ics IS NOT NULL")
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_mail_seminar_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_mail_registration_id'))
        batch_op.drop_constraint(batch_op.f('fk_outbox_mail_seminar_id_seminar'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_outbox_mail_registration_id_seminar_registration'),
                                 type_='foreignkey')
        batch_op.drop_column('seminar_id')
        batch_op.drop_column('registration_id')
        batch_op.create_index(batch_op.f('ix_outbox_mail_topic'), ['topic'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_outbox_mail_topic_key'), ['topic_key'])


def downgrade():
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seminar_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('registration_id', sa.Integer(), nullable=True))
    # Only seminar mail had a seminar (a seminar deleted since: NULL, as ON DELETE SET NULL);
    # other features' mails stay and are sent without one.
    op.execute("UPDATE outbox_mail SET seminar_id = CAST(SUBSTR(topic, 9) AS INTEGER) "
               "WHERE topic LIKE 'seminar:%'")
    op.execute("UPDATE outbox_mail SET seminar_id = NULL WHERE seminar_id IS NOT NULL "
               "AND seminar_id NOT IN (SELECT id FROM seminar)")
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_outbox_mail_topic_key'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_outbox_mail_topic'))
        batch_op.drop_column('ics_method')
        batch_op.drop_column('topic_key')
        batch_op.drop_column('topic')
        batch_op.create_foreign_key(batch_op.f('fk_outbox_mail_seminar_id_seminar'), 'seminar',
                                    ['seminar_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_outbox_mail_registration_id_seminar_registration'),
                                    'seminar_registration', ['registration_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.create_index(batch_op.f('ix_outbox_mail_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_mail_seminar_id'), ['seminar_id'], unique=False)
