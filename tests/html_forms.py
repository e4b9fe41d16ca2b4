"""The forms of a page as a browser would submit them (HTML's "successful controls").

`forms_in(html, page_url)` reads every <form> with the standard library's HTML parser and
`HtmlForm.submission()` gives the (name, value) pairs a browser sends when the form's first
submit button is pressed without touching anything: text inputs with their value, checked
boxes and radios only, each select's selected options (the first when none is marked, for a
single select), textareas' text; disabled controls and buttons never. Tests post that and so
catch a field the page does not render but the form requires.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

_NOT_SENT = {"submit", "button", "reset", "image", "file"}


@dataclass
class _Control:
    kind: str  # input type, "select", "textarea"
    name: str
    value: str = ""
    checked: bool = False
    disabled: bool = False
    multiple: bool = False
    options: list[tuple[str, bool, bool]] = field(default_factory=list)  # value, selected, disabled


@dataclass
class HtmlForm:
    action: str  # the path the form posts to (query kept), resolved against the page
    method: str
    controls: list[_Control] = field(default_factory=list)
    submit: tuple[str, str] | None = None  # the first submit button's name and value

    @property
    def names(self) -> set[str]:
        return {c.name for c in self.controls}

    def submission(self) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        for control in self.controls:
            if control.disabled or not control.name:
                continue
            if control.kind in ("checkbox", "radio"):
                if control.checked:
                    pairs.append((control.name, control.value or "on"))
            elif control.kind == "select":
                enabled = [o for o in control.options if not o[2]]
                chosen = [o for o in enabled if o[1]]
                if not chosen and not control.multiple and enabled:
                    chosen = enabled[:1]
                pairs.extend((control.name, value) for value, _, _ in (chosen if control.multiple else chosen[-1:]))
            elif control.kind not in _NOT_SENT:
                pairs.append((control.name, control.value))
        if self.submit and self.submit[0]:
            pairs.append(self.submit)
        return pairs


class _FormParser(HTMLParser):
    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[HtmlForm] = []
        self.form: HtmlForm | None = None
        self.select: _Control | None = None
        self.option: list | None = None  # [value or None, selected, disabled, text]
        self.textarea: _Control | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            action = urljoin(self.page_url, a.get("action") or self.page_url)
            parts = urlsplit(action)
            self.form = HtmlForm(parts.path + (f"?{parts.query}" if parts.query else ""),
                                 (a.get("method") or "get").lower())
            self.forms.append(self.form)
        elif self.form is None:
            return
        elif tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind == "submit" and self.form.submit is None:
                self.form.submit = (a.get("name", ""), a.get("value", ""))
            self.form.controls.append(_Control(kind, a.get("name", ""), a.get("value", ""),
                                               "checked" in a, "disabled" in a))
        elif tag == "button":
            if (a.get("type") or "submit").lower() == "submit" and self.form.submit is None:
                self.form.submit = (a.get("name", ""), a.get("value", ""))
        elif tag == "select":
            self.select = _Control("select", a.get("name", ""), disabled="disabled" in a,
                                   multiple="multiple" in a)
            self.form.controls.append(self.select)
        elif tag == "option" and self.select is not None:
            self._end_option()
            self.option = [a.get("value"), "selected" in a, "disabled" in a, ""]
        elif tag == "textarea":
            self.textarea = _Control("textarea", a.get("name", ""), disabled="disabled" in a)
            self.form.controls.append(self.textarea)

    def handle_data(self, data):
        if self.option is not None:
            self.option[3] += data
        if self.textarea is not None:
            self.textarea.value += data

    def _end_option(self):
        if self.option is not None and self.select is not None:
            value, selected, disabled, text = self.option
            self.select.options.append((value if value is not None else text.strip(), selected, disabled))
        self.option = None

    def handle_endtag(self, tag):
        if tag == "option":
            self._end_option()
        elif tag == "select":
            self._end_option()
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            # HTML reads CR LF as LF, then drops one newline right after <textarea>.
            value = self.textarea.value.replace("\r\n", "\n")
            self.textarea.value = value[1:] if value.startswith("\n") else value
            self.textarea = None
        elif tag == "form":
            self.form = None


def forms_in(html: str, page_url: str) -> list[HtmlForm]:
    parser = _FormParser(page_url)
    parser.feed(html)
    parser.close()
    return parser.forms


def form_posting_to(html: str, page_url: str, action: str) -> HtmlForm:
    """The one form on the page whose action is `action` (fails the test otherwise)."""
    found = [f for f in forms_in(html, page_url) if f.action == action and f.method == "post"]
    assert len(found) == 1, f"{len(found)} forms post to {action} on {page_url}: " \
                            f"{[f.action for f in forms_in(html, page_url)]}"
    return found[0]


def replace(pairs: list[tuple[str, str]], name: str, value: str | None) -> list[tuple[str, str]]:
    """The submission with one field set to `value` (None: left out, as an unticked box)."""
    kept = [(n, v) for n, v in pairs if n != name]
    return kept if value is None else kept + [(name, value)]
