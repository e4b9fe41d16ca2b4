"""Every model of the ground floor, one module per aggregate.

Importing this package registers all tables on ``db.metadata`` (Alembic and the tests
rely on that).
"""

from office.models.operations import RateLimitCounter
from office.models.people import Agency, Invitation, Role, Unit, User
from office.models.premises import Closure, OpeningHours, Resource, ResourceKind, Site

__all__ = [
    "Agency",
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
