"""Seminars, their days and sessions, registrations and evaluations (mail: office/core/mail.py).

Times of a day are local wall-clock times (the premises' zone); the registration
deadline and every timestamp are aware UTC. Registrations keep their `arrival` number
(taken from the seminar's counter under its row lock) so the waiting list is strictly
first come, first served, also under concurrent requests. A session the coordinator opens
for sign-up (`SeminarSession.sign_up`) has places of its own (`SessionPlace`), numbered
from the same counter under the same lock. Presence is kept per day (`DayAttendance`).
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from office.accounts.models import Agency, User
from office.booking.models import Reservation
from office.core.database import UTCDateTime, utcnow
from office.core.extensions import db
from office.meetings.models import MeetingSeries
from office.premises.models import Resource


def _enum(cls, length=20):
    return Enum(cls, native_enum=False, length=length, validate_strings=True)


class SeminarKind(str, enum.Enum):
    kick_off = "kick_off"
    checkpoint = "checkpoint"
    final = "final"
    get_to_know = "get_to_know"
    employer_forum = "employer_forum"
    training = "training"
    study_visit = "study_visit"
    conference = "conference"
    lecture = "lecture"

    @property
    def label(self):
        return KIND_LABELS[self]


KIND_LABELS = {
    SeminarKind.kick_off: _l("Kick-off seminar"),
    SeminarKind.checkpoint: _l("Development and checkpoint seminar"),
    SeminarKind.final: _l("Final seminar"),
    SeminarKind.get_to_know: _l("Get-to-know-each-other seminar"),
    SeminarKind.employer_forum: _l("Employer forum"),
    SeminarKind.training: _l("Training"),
    SeminarKind.study_visit: _l("Study visit"),
    SeminarKind.conference: _l("Conference"),
    SeminarKind.lecture: _l("Lecture"),
}


class SeminarState(str, enum.Enum):
    draft = "draft"
    published = "published"
    cancelled = "cancelled"
    finished = "finished"

    @property
    def label(self):
        return {
            SeminarState.draft: _l("Draft"),
            SeminarState.published: _l("Published"),
            SeminarState.cancelled: _l("Cancelled"),
            SeminarState.finished: _l("Finished"),
        }[self]


class Audience(str, enum.Enum):
    internal = "internal"  # staff of the invited agencies
    public = "public"      # also guests, on the public page

    @property
    def label(self):
        return {Audience.internal: _l("Internal (staff)"), Audience.public: _l("Public")}[self]


class VenueKind(str, enum.Enum):
    on_site = "on_site"    # rooms of our sites, booked through office.booking.rules
    external = "external"  # an address elsewhere
    online = "online"
    hybrid = "hybrid"      # our rooms and online

    @property
    def label(self):
        return {
            VenueKind.on_site: _l("Our premises"),
            VenueKind.external: _l("External address"),
            VenueKind.online: _l("Online"),
            VenueKind.hybrid: _l("Hybrid (our premises and online)"),
        }[self]


class RegistrationStatus(str, enum.Enum):
    confirmed = "confirmed"
    waiting = "waiting"
    cancelled = "cancelled"

    @property
    def label(self):
        return {
            RegistrationStatus.confirmed: _l("Confirmed"),
            RegistrationStatus.waiting: _l("On the waiting list"),
            # The person cancelled ("Avbokad"), not the event ("Inställt").
            RegistrationStatus.cancelled: _l("Registration cancelled"),
        }[self]


class AttendanceMode(str, enum.Enum):
    on_site = "on_site"
    online = "online"

    @property
    def label(self):
        return {AttendanceMode.on_site: _l("On site"), AttendanceMode.online: _l("Online")}[self]


seminar_invited_agency = Table(
    "seminar_invited_agency",
    db.metadata,
    Column("seminar_id", ForeignKey("seminar.id", ondelete="CASCADE"), primary_key=True),
    Column("agency_id", ForeignKey("agency.id", ondelete="CASCADE"), primary_key=True),
)


class Seminar(db.Model):
    __tablename__ = "seminar"
    __table_args__ = (CheckConstraint("capacity >= 1", name="capacity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[SeminarKind] = mapped_column(_enum(SeminarKind), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[Audience] = mapped_column(_enum(Audience), default=Audience.internal)
    audience_note: Mapped[str] = mapped_column(String(300), default="")  # groups or roles
    venue_kind: Mapped[VenueKind] = mapped_column(_enum(VenueKind), default=VenueKind.on_site)
    external_address: Mapped[str] = mapped_column(String(300), default="")
    online_url: Mapped[str] = mapped_column(String(500), default="")
    capacity: Mapped[int] = mapped_column(Integer)
    registration_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state: Mapped[SeminarState] = mapped_column(_enum(SeminarState), default=SeminarState.draft,
                                                index=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Stockholm")
    # Hands out the arrival numbers of registrations (incremented under the row lock).
    registration_counter: Mapped[int] = mapped_column(Integer, default=0)
    # Registrations with a place and on the waiting list, kept under the same lock
    # (seminars/registration.py), so registering need not count them; recounted whenever
    # places are handed out from the waiting list.
    confirmed_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    waiting_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # iCalendar SEQUENCE: grows with every change sent to participants.
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    copied_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("seminar.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    invited_agencies: Mapped[list[Agency]] = relationship(
        secondary=seminar_invited_agency, order_by=Agency.name
    )
    days: Mapped[list[SeminarDay]] = relationship(
        back_populates="seminar", order_by="SeminarDay.day", cascade="all, delete-orphan"
    )
    registrations: Mapped[list[Registration]] = relationship(
        back_populates="seminar", order_by="Registration.arrival", cascade="all, delete-orphan"
    )

    @property
    def first_day(self) -> date | None:
        return self.days[0].day if self.days else None

    @property
    def uses_our_rooms(self) -> bool:
        return self.venue_kind in (VenueKind.on_site, VenueKind.hybrid)

    @property
    def is_open_for_registration(self) -> bool:
        return self.state == SeminarState.published

    def __str__(self) -> str:
        return self.title


class SeminarDay(db.Model):
    """One day of a seminar, its hours and (on our premises) the room booked for it."""

    __tablename__ = "seminar_day"
    __table_args__ = (
        UniqueConstraint("seminar_id", "day", name="uq_seminar_day_seminar_day"),
        CheckConstraint("end_time > start_time", name="ends_after_starts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seminar_id: Mapped[int] = mapped_column(ForeignKey("seminar.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date, index=True)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("resource.id"))
    # Set while the room is booked (published); cancelled with the seminar.
    reservation_id: Mapped[int | None] = mapped_column(
        ForeignKey("reservation.id", ondelete="SET NULL")
    )

    seminar: Mapped[Seminar] = relationship(back_populates="days")
    resource: Mapped[Resource | None] = relationship()
    reservation: Mapped[Reservation | None] = relationship()
    sessions: Mapped[list[SeminarSession]] = relationship(
        back_populates="seminar_day", order_by="SeminarSession.start_time",
        cascade="all, delete-orphan",
    )


class SeminarSession(db.Model):
    """One item of a day's programme."""

    __tablename__ = "seminar_session"
    __table_args__ = (CheckConstraint("end_time > start_time", name="ends_after_starts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seminar_day_id: Mapped[int] = mapped_column(
        ForeignKey("seminar_day.id", ondelete="CASCADE"), index=True
    )
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    title: Mapped[str] = mapped_column(String(200))
    room: Mapped[str] = mapped_column(String(120), default="")
    capacity: Mapped[int | None] = mapped_column(Integer)  # when it differs from the seminar's
    # Participants sign up for this session on its own (a workshop with fewer places).
    sign_up: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    seminar_day: Mapped[SeminarDay] = relationship(back_populates="sessions")
    presenters: Mapped[list[Presenter]] = relationship(
        back_populates="session", order_by="Presenter.id", cascade="all, delete-orphan"
    )
    places: Mapped[list[SessionPlace]] = relationship(
        back_populates="session", order_by="SessionPlace.arrival", cascade="all, delete-orphan",
        passive_deletes=True,
    )

    def places_in_total(self) -> int:
        """The session's own places, or the seminar's when it has none of its own."""
        return self.capacity or self.seminar_day.seminar.capacity


class Presenter(db.Model):
    __tablename__ = "seminar_presenter"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("seminar_session.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id", ondelete="SET NULL"))
    organisation: Mapped[str] = mapped_column(String(200), default="")  # when not one of ours

    session: Mapped[SeminarSession] = relationship(back_populates="presenters")
    agency: Mapped[Agency | None] = relationship()


class Registration(db.Model):
    """A staff member or an external guest registered for a seminar (or waiting)."""

    __tablename__ = "seminar_registration"
    __table_args__ = (
        # One registration per person and seminar; a cancelled one is reused on return.
        UniqueConstraint("seminar_id", "email", name="uq_seminar_registration_seminar_email"),
        UniqueConstraint("seminar_id", "arrival", name="uq_seminar_registration_seminar_arrival"),
        Index("ix_seminar_registration_seminar_status", "seminar_id", "status", "arrival"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seminar_id: Mapped[int] = mapped_column(ForeignKey("seminar.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id", ondelete="SET NULL"))
    email: Mapped[str] = mapped_column(String(254))  # lower case
    locale: Mapped[str] = mapped_column(String(5), default="sv")
    status: Mapped[RegistrationStatus] = mapped_column(_enum(RegistrationStatus))
    arrival: Mapped[int] = mapped_column(Integer)
    dietary_needs: Mapped[str] = mapped_column(String(300), default="")
    accessibility_needs: Mapped[str] = mapped_column(String(300), default="")
    attendance_mode: Mapped[AttendanceMode] = mapped_column(
        _enum(AttendanceMode, 10), default=AttendanceMode.on_site
    )
    # sha256 of the guest's secret link; None for staff (they log in).
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The mail asking for an evaluation (queued once the last day has ended) and the
    # hash of the link in it, which opens only the evaluation.
    evaluation_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    evaluation_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    # SEQUENCE of the last calendar file mailed to this person: the next one is higher,
    # so a promotion or a cancellation updates the entry the person already has.
    calendar_sequence: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    seminar: Mapped[Seminar] = relationship(back_populates="registrations")
    user: Mapped[User | None] = relationship()
    agency: Mapped[Agency | None] = relationship()
    evaluation: Mapped[Evaluation | None] = relationship(
        back_populates="registration", cascade="all, delete-orphan"
    )
    attendances: Mapped[list[DayAttendance]] = relationship(
        back_populates="registration", order_by="DayAttendance.checked_in_at",
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin",
    )
    session_places: Mapped[list[SessionPlace]] = relationship(
        back_populates="registration", cascade="all, delete-orphan", passive_deletes=True,
    )

    @property
    def checked_in_at(self) -> datetime | None:
        """When the person was first checked in, on any day (None: never present)."""
        return self.attendances[0].checked_in_at if self.attendances else None

    def present_on(self, seminar_day_id: int) -> bool:
        return any(a.seminar_day_id == seminar_day_id for a in self.attendances)

    @property
    def is_guest(self) -> bool:
        return self.user_id is None

    @property
    def is_active(self) -> bool:
        return self.status != RegistrationStatus.cancelled


class DayAttendance(db.Model):
    """A participant checked in on one day of the seminar (no row: not present that day)."""

    __tablename__ = "seminar_day_attendance"
    __table_args__ = (
        UniqueConstraint("registration_id", "seminar_day_id",
                         name="uq_seminar_day_attendance_registration_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("seminar_registration.id", ondelete="CASCADE"))
    seminar_day_id: Mapped[int] = mapped_column(
        ForeignKey("seminar_day.id", ondelete="CASCADE"), index=True)
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime)

    registration: Mapped[Registration] = relationship(back_populates="attendances")
    seminar_day: Mapped[SeminarDay] = relationship()


class SessionPlace(db.Model):
    """A registered participant's place (or place in line) in a session with its own sign-up."""

    __tablename__ = "seminar_session_place"
    __table_args__ = (
        UniqueConstraint("session_id", "registration_id",
                         name="uq_seminar_session_place_session_registration"),
        UniqueConstraint("session_id", "arrival", name="uq_seminar_session_place_session_arrival"),
        Index("ix_seminar_session_place_session_status", "session_id", "status", "arrival"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("seminar_session.id", ondelete="CASCADE"))
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("seminar_registration.id", ondelete="CASCADE"), index=True)
    status: Mapped[RegistrationStatus] = mapped_column(_enum(RegistrationStatus))
    # From the seminar's counter, under the seminar's row lock (as registrations).
    arrival: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    session: Mapped[SeminarSession] = relationship(back_populates="places")
    registration: Mapped[Registration] = relationship(back_populates="session_places")


class Evaluation(db.Model):
    __tablename__ = "seminar_evaluation"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("seminar_registration.id", ondelete="CASCADE"), unique=True
    )
    rating: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    registration: Mapped[Registration] = relationship(back_populates="evaluation")


class PlanTask(db.Model):
    """A recurring piece of work of the yearly action plan (renew the local agreement, the
    yearly quality check, the half-year report ...): due on a day, owned by a person or by a
    meeting group, with a reminder mailed `remind_days` before the due date.

    At most one owner: a removed person or group leaves the task ownerless ("No owner" on the
    plan) until the coordinator picks another. `reminded_for` is the due date the reminder went out for: moving the due date arms the
    reminder again, running the job twice does not send it twice.
    """

    __tablename__ = "plan_task"
    __table_args__ = (
        CheckConstraint("owner_id IS NULL OR owner_series_id IS NULL", name="one_owner"),
        CheckConstraint("remind_days >= 0 AND remind_days <= 365", name="remind_days_range"),
        Index("ix_plan_task_due_on", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    due_on: Mapped[date] = mapped_column(Date)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    owner_series_id: Mapped[int | None] = mapped_column(
        ForeignKey("meeting_series.id", ondelete="SET NULL"), index=True)
    remind_days: Mapped[int] = mapped_column(Integer, default=14)
    reminded_for: Mapped[date | None] = mapped_column(Date)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    copied_from_id: Mapped[int | None] = mapped_column(ForeignKey("plan_task.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    owner_series: Mapped[MeetingSeries | None] = relationship(foreign_keys=[owner_series_id])
    done_by: Mapped[User | None] = relationship(foreign_keys=[done_by_id])

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    @property
    def owner_name(self) -> str:
        if self.owner is not None:
            return self.owner.name
        return self.owner_series.name if self.owner_series is not None else ""
