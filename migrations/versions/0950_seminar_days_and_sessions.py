"""seminars: attendance per day, sign-up per session, the evaluation mail, calendar sequence

Revision ID: 0950_seminar_days_sessions
Revises: 0960_mail_opt_out
Create Date: 2026-12-02 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0950_seminar_days_sessions'
down_revision = '0960_mail_opt_out'
branch_labels = None
depends_on = None

STATUS = sa.Enum('confirmed', 'waiting', 'cancelled', name='registrationstatus', native_enum=False,
                 length=20)


def upgrade():
    op.create_table('seminar_day_attendance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('seminar_day_id', sa.Integer(), nullable=False),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['registration_id'], ['seminar_registration.id'], name=op.f('fk_seminar_day_attendance_registration_id_seminar_registration'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['seminar_day_id'], ['seminar_day.id'], name=op.f('fk_seminar_day_attendance_seminar_day_id_seminar_day'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seminar_day_attendance')),
    sa.UniqueConstraint('registration_id', 'seminar_day_id', name='uq_seminar_day_attendance_registration_day')
    )
    with op.batch_alter_table('seminar_day_attendance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seminar_day_attendance_seminar_day_id'), ['seminar_day_id'], unique=False)

    op.create_table('seminar_session_place',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('status', STATUS, nullable=False),
    sa.Column('arrival', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['registration_id'], ['seminar_registration.id'], name=op.f('fk_seminar_session_place_registration_id_seminar_registration'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['seminar_session.id'], name=op.f('fk_seminar_session_place_session_id_seminar_session'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seminar_session_place')),
    sa.UniqueConstraint('session_id', 'arrival', name='uq_seminar_session_place_session_arrival'),
    sa.UniqueConstraint('session_id', 'registration_id', name='uq_seminar_session_place_session_registration')
    )
    with op.batch_alter_table('seminar_session_place', schema=None) as batch_op:
        batch_op.create_index('ix_seminar_session_place_session_status', ['session_id', 'status', 'arrival'], unique=False)
        batch_op.create_index(batch_op.f('ix_seminar_session_place_registration_id'), ['registration_id'], unique=False)

    # Plain ALTER TABLE (no batch copy): on SQLite a batch would recreate
    # seminar_registration, and with foreign keys on, dropping the old table cascades to
    # its evaluations and day attendances.
    op.add_column('seminar_session', sa.Column('sign_up', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('seminar_registration', sa.Column('evaluation_requested_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('seminar_registration', sa.Column('evaluation_token_hash', sa.String(length=64), nullable=True))
    op.add_column('seminar_registration', sa.Column('calendar_sequence', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_seminar_registration_evaluation_token_hash'), 'seminar_registration', ['evaluation_token_hash'], unique=True)

    # Who was checked in once is present on the seminar's first day (the only day a check-in
    # could mean until now: nearly every seminar had one).
    op.execute("""
        INSERT INTO seminar_day_attendance (registration_id, seminar_day_id, checked_in_at)
        SELECT r.id, (SELECT d.id FROM seminar_day d WHERE d.seminar_id = r.seminar_id
                      ORDER BY d.day LIMIT 1), r.checked_in_at
        FROM seminar_registration r
        WHERE r.checked_in_at IS NOT NULL
          AND EXISTS (SELECT 1 FROM seminar_day d WHERE d.seminar_id = r.seminar_id)
    """)
    op.drop_column('seminar_registration', 'checked_in_at')  # native DROP COLUMN (SQLite >= 3.35)


def downgrade():
    op.add_column('seminar_registration', sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("""
        UPDATE seminar_registration SET checked_in_at = (
            SELECT MIN(a.checked_in_at) FROM seminar_day_attendance a
            WHERE a.registration_id = seminar_registration.id)
    """)
    op.drop_index(op.f('ix_seminar_registration_evaluation_token_hash'), table_name='seminar_registration')
    op.drop_column('seminar_registration', 'calendar_sequence')
    op.drop_column('seminar_registration', 'evaluation_token_hash')
    op.drop_column('seminar_registration', 'evaluation_requested_at')
    op.drop_column('seminar_session', 'sign_up')
    with op.batch_alter_table('seminar_session_place', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seminar_session_place_registration_id'))
        batch_op.drop_index('ix_seminar_session_place_session_status')
    op.drop_table('seminar_session_place')
    with op.batch_alter_table('seminar_day_attendance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seminar_day_attendance_seminar_day_id'))
    op.drop_table('seminar_day_attendance')
