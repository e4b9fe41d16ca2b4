"""Reading the append-only audit log: filters and pages for the coordinator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from office.accounts.models import User
from office.booking.models import AuditEntry
from office.core.extensions import db
from office.core.forms import choices
from office.core.i18n import local_zone

ACTION_LABELS = {
    "create": _l("Booked"),
    "change": _l("Changed all ahead"),
    "change_occurrence": _l("Changed one occasion"),
    "change_following": _l("Changed this and following"),
    "cancel": _l("Cancelled"),
    "cancel_occurrence": _l("Cancelled one occasion"),
    "cancel_following": _l("Cancelled this and following"),
}
PER_PAGE = 50


@dataclass(frozen=True)
class AuditQuery:
    action: str | None = None
    actor_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None  # inclusive, local date
    object_id: int | None = None

    @classmethod
    def from_form(cls, form) -> AuditQuery:
        return cls(action=form.action.data or None, actor_id=form.actor_id.data or None,
                   date_from=form.date_from.data, date_to=form.date_to.data,
                   object_id=form.object_id.data)


def statement(query: AuditQuery):
    """The newest entries first, narrowed by what the query names."""
    stmt = select(AuditEntry).options(selectinload(AuditEntry.actor).selectinload(User.agency))
    zone = local_zone()
    if query.action:
        stmt = stmt.where(AuditEntry.action == query.action)
    if query.actor_id:
        stmt = stmt.where(AuditEntry.actor_id == query.actor_id)
    if query.date_from:
        stmt = stmt.where(AuditEntry.at >= datetime.combine(query.date_from, time(0), zone))
    if query.date_to:
        stmt = stmt.where(AuditEntry.at < datetime.combine(query.date_to + timedelta(days=1), time(0), zone))
    if query.object_id:
        stmt = stmt.where(AuditEntry.object_id == query.object_id)
    return stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())


# Pages beyond this are empty anyway; a larger number would overflow the query's OFFSET.
MAX_PAGE = 100_000


def search(query: AuditQuery, page: int = 1, per_page: int = PER_PAGE):
    return db.paginate(statement(query), page=max(page, 1), per_page=per_page, error_out=False)


def fill_choices(form) -> None:
    form.action.choices = choices([("", _l("All actions"))] + list(ACTION_LABELS.items()))
    actors = db.session.scalars(
        select(User).where(User.id.in_(select(AuditEntry.actor_id).distinct())).order_by(User.name)
    )
    form.actor_id.choices = choices([(0, _l("Everyone"))] + [(u.id, u.name) for u in actors])
