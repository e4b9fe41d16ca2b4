"""The mail outbox page: mails of every feature that keep failing, and trying one again."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from office.core import mail
from office.core.extensions import db
from office.core.forms import ConfirmForm
from office.core.models import OutboxMail
from office.core.security import Role, coordinator_required
from office.core.templating import add_nav_item

bp = Blueprint("mail", __name__, url_prefix="/mail")


@bp.record_once
def _set_up(state) -> None:
    add_nav_item("mail.outbox", _l("Mail outbox"), roles=(Role.coordinator,),
                 description=_l("Every mail the app sends, and whether it was delivered."))
    from office.core.observability import register_gauge

    register_gauge("samlokal_mail_queue_length", "Mails in the outbox waiting to be sent "
                   "(queued, due now or later after a failure).", mail.queue_length)


@bp.get("/outbox")
@coordinator_required
def outbox():
    """Mails that keep failing (the sender retries; here you see why)."""
    return render_template("mail/outbox.html", mails=mail.failing_mails(), confirm=ConfirmForm())


@bp.post("/outbox/<int:mail_id>/retry")
@coordinator_required
def retry_mail(mail_id: int):
    """Try a failing mail again at the sender's next round."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    mail.retry_now(db.get_or_404(OutboxMail, mail_id))
    flash(_("The mail will be tried again."), "success")
    return redirect(url_for("mail.outbox"))
