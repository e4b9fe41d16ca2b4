"""Every model of the ground floor, one module per aggregate.

Importing this package registers all tables on ``db.metadata`` (Alembic and the tests
rely on that).
"""

from office.models.bookings import (
    AuditEntry,
    OccurrenceState,
    Reservation,
    ReservationKind,
    ReservationOccurrence,
)
from office.models.feeds import FeedToken
from office.models.people import Agency, Invitation, Role, Unit, User
from office.models.premises import Closure, OpeningHours, Resource, ResourceKind, Site

__all__ = [
    "Agency",
    "AuditEntry",
    "FeedToken",
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
