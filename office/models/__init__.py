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
from office.models.bookings import (
    AuditEntry,
    OccurrenceState,
    Reservation,
    ReservationKind,
    ReservationOccurrence,
)

from office.models.operations import RateLimitCounter
from office.models.people import Agency, Invitation, Role, Unit, User
from office.models.premises import Closure, OpeningHours, Resource, ResourceKind, Site
from office.models.meetings import Attendance, MeetingMember, MeetingSeries  # noqa: E402

__all__ = [
    "AgencyAllocationSettings",
    "Allocation",
    "AllocationRelease",
    "Attendance",
    "MeetingMember",
    "MeetingSeries",
    "ReleasePolicy",
    "Term",
    "TermKind",
    "WeekPattern",
    "Agency",
    "RateLimitCounter",
    "AuditEntry",
    "OccurrenceState",
    "Reservation",
    "ReservationKind",
    "ReservationOccurrence",
    "Closure",
    "Invitation",
    "OpeningHours",
    "RateLimitCounter",
    "Resource",
    "ResourceKind",
    "Role",
    "Site",
    "Unit",
    "User",
]
