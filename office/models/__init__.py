"""Every model of the ground floor, one module per aggregate.

Importing this package registers all tables on ``db.metadata`` (Alembic and the tests
rely on that).
"""

from office.models.allocations import (
    AgencyAllocationSettings,
    Allocation,
    AllocationRelease,
    ReleasePolicy,
    Term,
    TermKind,
    WeekPattern,
)
from office.models.availability import Absence, AbsenceKind, WorkingHours
from office.models.bookings import (
    AuditEntry,
    OccurrenceState,
    Reservation,
    ReservationKind,
    ReservationOccurrence,
)
from office.models.feeds import FeedToken
from office.models.meetings import Attendance, MeetingMember, MeetingSeries
from office.models.operations import RateLimitCounter
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
    "Absence", "AbsenceKind", "Agency", "AgencyAllocationSettings", "Allocation",
    "AllocationRelease", "Attendance", "AuditEntry", "Closure", "Consent", "FeedToken", "Invitation",
    "MeetingMember", "MeetingMode", "MeetingSeries", "MeetingStatus", "OccurrenceState",
    "OpeningHours", "RateLimitCounter", "ReleasePolicy", "Reservation", "ReservationKind",
    "ReservationOccurrence", "Resource", "ResourceKind", "Role", "Site", "Term", "TermKind",
    "Trepartssamtal", "TrepartssamtalParticipant", "Unit", "User", "WeekPattern", "WorkingHours",
]
