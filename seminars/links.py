"""Links to seminar pages, for mails and calendar files (also outside a request), and the
secret links of guests and evaluations."""

from __future__ import annotations

from office.core.mail import external_url
from office.core.tokens import hash_token, new_token  # noqa: F401 - the guests' links
from seminars.models import Audience, Seminar


def seminar_url(seminar: Seminar) -> str:
    if seminar.audience == Audience.public:
        return external_url("seminars.public_seminar", seminar_id=seminar.id)
    return external_url("seminars.show_seminar", seminar_id=seminar.id)


