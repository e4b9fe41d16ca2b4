"""Calendar feeds: the page that makes secret links, and the calendar behind a secret link.

The page offers every private feed kind registered with an `Offer` (office/feeds/registry.py)
and lists the person's links, each named (one per device) and each stopped or renewed on
its own. A conditional poll of a secret link is usually answered 304 by the fast path
(office/feeds/fastpath.py) before this blueprint runs; everything else comes here.
Features with public calendars serve them from their own blueprints (seminars/feeds.py).
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from office import feeds
from office.accounts import rules as accounts
from office.core.extensions import db
from office.core.forms import ConfirmForm, choices
from office.core.templating import add_nav_item
from office.feeds.fastpath import POLL_KEY, FeedFastPath, FeedPoll
from office.feeds.forms import NewFeedForm
from office.feeds.http import calendar_response, calendar_view, feed_error, rate_limited
from office.feeds.models import FeedToken
from office.feeds.rate_limit import allow_poll
from office.feeds.registry import privacy_notes
from office.feeds.tokens import MAX_LINKS_PER_FEED

bp = Blueprint("feeds", __name__, url_prefix="/feeds")


# --- the page -------------------------------------------------------------------------

def _offered() -> list[feeds.FeedKind]:
    """Private kinds with a card on the page, in the order they were registered."""
    return [k for k in feeds.feed_kinds() if k.private and k.offer is not None]


def _new_form(info: feeds.FeedKind) -> NewFeedForm:
    form = NewFeedForm(prefix=info.name, kind=info.name)
    if info.needs_target:
        form.target_id.choices = choices(info.offer.choices(current_user))
        form.target_id.label.text = info.offer.choice_label
    return form


def subscribe_links(endpoint: str, **values) -> dict:
    """The https:// and webcal:// addresses of a feed, on BASE_URL (the address users know)."""
    https = current_app.config["BASE_URL"].rstrip("/") + url_for(endpoint, **values)
    return {"https": https, "webcal": "webcal://" + https.split("://", 1)[1]}


def _links(token: str) -> dict:
    return subscribe_links("feeds.private_feed", token=token)


def _feed_name(kind: str, target_id: int | None) -> str:
    info = feeds.feed_kind(kind)
    target = ""
    if target_id is not None and info is not None and info.describe is not None:
        target = info.describe(target_id) or "?"
    return f"{info.label if info else kind} {target}".strip()


def _page(new_link: dict | None = None, new_label: str = "", status: int = 200,
          forms: dict | None = None):
    tokens = feeds.active_tokens(current_user)
    forms = forms or {}
    cards = [(info, forms.get(info.name) or _new_form(info)) for info in _offered()]
    public = [(info, subscribe_links(info.offer.endpoint)) for info in feeds.feed_kinds()
              if not info.private and info.offer is not None and info.offer.endpoint]
    return render_template(
        "feeds/list.html", rows=[{"token": t, "feed": _feed_name(t.kind, t.target_id)}
                                 for t in tokens],
        new_link=new_link, new_label=new_label, cards=cards, public=public,
        privacy_notes=privacy_notes(), confirm_form=ConfirmForm(),
    ), status


@bp.get("/")
@login_required
def manage_feeds():
    """Your calendar feeds: subscribe links, how to add them, stop and renew them."""
    return _page()


@bp.post("/")
@login_required
def create_feed():
    """Makes a named secret feed link and shows it once."""
    info = feeds.feed_kind(request.form.get("prefix", ""))
    if info is None or info not in _offered():
        abort(400)
    form = _new_form(info)
    token = _issue(form, info) if form.validate_on_submit() and form.kind.data == info.name else None
    if token is None:
        return _page(status=422, forms={info.name: form})
    target_id = form.target_id.data if info.needs_target else None
    return _page(new_link=_links(token), new_label=_label(info.name, target_id, token))


def _issue(form: NewFeedForm, info: feeds.FeedKind) -> str | None:
    """A new token, or None with the reason on the form (a target not offered, too many)."""
    target_id = form.target_id.data if info.needs_target else None
    if info.needs_target and target_id not in {c.value for c in form.target_id.choices}:
        form.target_id.errors.append(_("Choose one from the list."))
        return None
    try:
        return feeds.issue_token(current_user, info.name, target_id, form.name.data)
    except feeds.TooManyLinks:
        form.name.errors.append(_("You already have %(count)s links to this feed. Stop one "
                                  "you no longer use, then make a new one.",
                                  count=MAX_LINKS_PER_FEED))
    except PermissionError:
        form.target_id.errors.append(_("Choose one from the list."))
    return None


def _label(kind: str, target_id: int | None, token: str) -> str:
    """The feed and the link's name, for the heading above a new link."""
    name = db.session.scalar(db.select(FeedToken.name).where(
        FeedToken.token_hash == feeds.hash_token(token)))
    return f"{_feed_name(kind, target_id)} – {name}" if name else _feed_name(kind, target_id)


def _own_token(token_id: int) -> FeedToken:
    row = db.session.get(FeedToken, token_id)
    if row is None or row.user_id != current_user.id or row.revoked_at is not None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return row


@bp.post("/<int:token_id>/revoke")
@login_required
def revoke_feed(token_id: int):
    """Stops one feed link at once (calendar clients get 410 Gone); the others keep working."""
    feeds.revoke_token(_own_token(token_id))
    flash(_("The link no longer works. Calendars subscribed to it stop updating."), "success")
    return _page()


@bp.post("/<int:token_id>/regenerate")
@login_required
def regenerate_feed(token_id: int):
    """Replaces one feed link with a new one of the same name (the old one stops working)."""
    row = _own_token(token_id)
    try:
        token = feeds.replace_token(current_user, row)
    except (PermissionError, ValueError):  # no longer allowed (moved agency) or kind gone
        abort(403)
    return _page(new_link=_links(token), new_label=_label(row.kind, row.target_id, token))


# --- the calendar -----------------------------------------------------------------------

@bp.get("/<token>.ics")
@calendar_view
def private_feed(token: str):
    """The calendar behind a secret link (no login, no cookie: the link is the key)."""
    poll = request.environ.get(POLL_KEY)  # what the fast path already read, if it ran
    if poll is None or poll.token != token:
        with feeds.one_connection():
            poll = FeedPoll(token, feeds.lookup_token(token))
    grant = poll.grant
    if grant is None:
        return feed_error(404)
    if grant.revoked:
        return feed_error(410)
    if not poll.counted:
        poll.retry_after, poll.counted = allow_poll(grant.rate_key), True
    if poll.retry_after:
        return rate_limited(poll.retry_after)
    return calendar_response(grant.subject, poll.version)


def init_app(app: Flask) -> None:
    """Register the blueprint, the navigation entry, the 304 fast path, and stop a
    deactivated person's links."""
    app.register_blueprint(bp)
    add_nav_item("feeds.manage_feeds", _l("Calendar feeds"))
    accounts.on_deactivate(feeds.revoke_all_tokens)
    app.wsgi_app = FeedFastPath(app, app.wsgi_app)
