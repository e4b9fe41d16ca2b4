"""Every model of the ground floor, one module per aggregate.

Importing this package registers all tables on ``db.metadata`` (Alembic and the tests
rely on that).
"""

from office.models.availability import Absence, AbsenceKind, WorkingHours
from office.models.bookings import (
    AuditEntry,
    OccurrenceState,
    Reservation,
    ReservationKind,
    ReservationOccurrence,
)
from office.models.people import Agency, Invitation, Role, Unit, User
from office.models.premises import Closure, OpeningHours, Resource, ResourceKind, Site
from office.models.trepartssamtal import (
    Consent,
    MeetingMode,
    MeetingStatus,
    Trepartssamtal,
    TrepartssamtalParticipant,
)

__all__ = [
    "Absence",
    "AbsenceKind",
    "Consent",
    "MeetingMode",
    "MeetingStatus",
    "Trepartssamtal",
    "TrepartssamtalParticipant",
    "WorkingHours",
    "Agency",
    "AuditEntry",
    "OccurrenceState",
    "Reservation",
    "ReservationKind",
    "ReservationOccurrence",
    "Closure",
    "Invitation",
    "OpeningHours",
    "Resource",
    "ResourceKind",
    "Role",
    "Site",
    "Unit",
    "User",
]
