"""What an uploaded floor plan may be: its real type, its size, and an SVG without active content.

The type comes from the file's first bytes, never from its name or the browser's word. An
SVG is parsed with defusedxml (no DTDs, no entity tricks) and rebuilt from an allow-list of
elements and attributes: scripts, event handlers, foreignObject, animation and any reference
outside the file refuse the upload with a message that says what was found, and editor
leftovers (Inkscape's namespaces, metadata, comments) are dropped. A PDF page is drawn to
a PNG with PDFium (pypdfium2) so that no PDF is ever served. No library that sanitises SVG
is both well kept and on PyPI as a wheel, hence the allow-list here.
"""

from __future__ import annotations

import hashlib
import re
import struct
import zlib
from dataclasses import dataclass
from xml.etree import ElementTree

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from flask_babel import lazy_gettext as _l

SVG, PNG = "image/svg+xml", "image/png"
MAX_BYTES = 5 * 1024 * 1024  # a detailed floor plan as PNG stays well below
MAX_PIXELS = 40_000_000      # a PNG a phone's browser can still decode
PDF_LONG_SIDE = 2400         # pixels of the longer side of a drawn PDF page
MAX_PDF_PAGES_SHOWN = 500

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"


class ImageRefused(ValueError):
    """The upload is not a plan we keep; str() is the message for the coordinator."""


@dataclass(frozen=True)
class CheckedImage:
    media_type: str
    data: bytes
    width: int
    height: int

    @property
    def version(self) -> str:
        return hashlib.sha256(self.data).hexdigest()[:32]


def check_upload(data: bytes, pdf_page: int = 1) -> CheckedImage:
    """The plan to store from an uploaded file (a PDF: its page `pdf_page`, 1 first)."""
    if not data:
        raise ImageRefused(_l("The file is empty."))
    if len(data) > MAX_BYTES:
        raise ImageRefused(_l("The file is too large: at most %(mb)s MB.", mb=MAX_BYTES // (1024 * 1024)))
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return check_png(data)
    if data.startswith(b"%PDF-"):
        return render_pdf_page(data, pdf_page)
    if _looks_like_svg(data):
        return sanitise_svg(data)
    raise ImageRefused(_l("Choose an SVG, PNG or PDF file (the file's contents decide, not its name)."))


# --- PNG ---------------------------------------------------------------------------------

def check_png(data: bytes) -> CheckedImage:
    """A PNG whose header chunk is sound and whose size a browser can decode."""
    if len(data) < 33 or data[12:16] != b"IHDR" or struct.unpack(">I", data[8:12])[0] != 13:
        raise ImageRefused(_l("The PNG file is damaged."))
    width, height = struct.unpack(">II", data[16:24])
    if zlib.crc32(data[12:29]) != struct.unpack(">I", data[29:33])[0]:
        raise ImageRefused(_l("The PNG file is damaged."))
    _check_pixels(width, height)
    return CheckedImage(PNG, data, width, height)


def _check_pixels(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise ImageRefused(_l("The PNG file is damaged."))
    if width * height > MAX_PIXELS:
        raise ImageRefused(_l("The picture has too many pixels: at most %(millions)s million.",
                              millions=MAX_PIXELS // 1_000_000))


def encode_png(width: int, height: int, rgb: bytes, stride: int) -> bytes:
    """An 8-bit RGB PNG of raw rows (no filter): what a drawn PDF page is kept as."""
    rows = b"".join(b"\x00" + rgb[y * stride:y * stride + width * 3] for y in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9))
            + chunk(b"IEND", b""))


# --- PDF ---------------------------------------------------------------------------------

def render_pdf_page(data: bytes, page_number: int) -> CheckedImage:
    """One page of a PDF drawn to a PNG (its longer side PDF_LONG_SIDE pixels)."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        raise ImageRefused(_l("The PDF file could not be read (damaged or password-protected).")) from None
    try:
        pages = len(document)
        if not 1 <= page_number <= pages:
            raise ImageRefused(_l("The PDF has %(pages)s pages: choose a page from 1 to %(pages)s.",
                                  pages=pages))
        page = document[page_number - 1]
        width_pt, height_pt = page.get_size()
        if width_pt <= 0 or height_pt <= 0:
            raise ImageRefused(_l("The PDF page is empty."))
        scale = PDF_LONG_SIDE / max(width_pt, height_pt)
        bitmap = page.render(scale=scale, rev_byteorder=True, may_draw_forms=False)
        if bitmap.n_channels != 3:  # rev_byteorder on an RGB page gives RGB; anything else is odd
            raise ImageRefused(_l("The PDF page could not be drawn."))
        _check_pixels(bitmap.width, bitmap.height)
        png = encode_png(bitmap.width, bitmap.height, bytes(bitmap.buffer), bitmap.stride)
        return CheckedImage(PNG, png, bitmap.width, bitmap.height)
    except pdfium.PdfiumError:
        raise ImageRefused(_l("The PDF page could not be drawn.")) from None
    finally:
        document.close()


# --- SVG ---------------------------------------------------------------------------------

ALLOWED_ELEMENTS = frozenset({
    "svg", "g", "defs", "title", "desc", "symbol", "use", "path", "rect", "circle", "ellipse",
    "line", "polyline", "polygon", "text", "tspan", "linearGradient", "radialGradient", "stop",
    "pattern", "clipPath", "mask", "marker", "image", "style",
})
# Elements that run code, load a page or change attributes over time: the upload is refused.
ACTIVE_ELEMENTS = frozenset({
    "script", "foreignObject", "iframe", "embed", "object", "handler", "listener", "animate",
    "set", "animateMotion", "animateTransform", "animateColor", "discard",
})
ALLOWED_ATTRIBUTES = frozenset({
    "id", "class", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "fx", "fy",
    "width", "height", "d", "points", "transform", "viewBox", "preserveAspectRatio", "version",
    "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity",
    "stroke-dasharray", "stroke-dashoffset", "stroke-linecap", "stroke-linejoin",
    "stroke-miterlimit", "opacity", "color", "font-family", "font-size", "font-weight",
    "font-style", "text-anchor", "dominant-baseline", "alignment-baseline", "letter-spacing",
    "word-spacing", "text-decoration", "style", "gradientUnits", "gradientTransform", "offset",
    "stop-color", "stop-opacity", "spreadMethod", "patternUnits", "patternContentUnits",
    "patternTransform", "clip-path", "clip-rule", "clipPathUnits", "mask", "maskUnits",
    "maskContentUnits", "marker-start", "marker-mid", "marker-end", "markerWidth",
    "markerHeight", "markerUnits", "refX", "refY", "orient", "dx", "dy", "rotate", "textLength",
    "lengthAdjust", "visibility", "display", "vector-effect", "shape-rendering", "role",
    "aria-label", "href",
})
# url(...) may name something inside the file (a gradient: url(#shade)), nothing outside.
_URL = re.compile(r"url\s*\(\s*(['\"]?)\s*([^)'\"]*)", re.IGNORECASE)
_UNSAFE_CSS = re.compile(r"@import|expression\s*\(|javascript:|behavior\s*:|-moz-binding|\\", re.IGNORECASE)
_INLINE_IMAGE = re.compile(r"^data:image/(png|jpeg);base64,[A-Za-z0-9+/=\s]*$")
_LENGTH = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(px)?\s*$")


def _looks_like_svg(data: bytes) -> bool:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!--")) and b"<svg" in data[:65536].lower()


def _local(name: str) -> tuple[str, str]:
    """(namespace, local name) of an ElementTree tag or attribute name."""
    if name.startswith("{"):
        namespace, _, local = name[1:].partition("}")
        return namespace, local
    return "", name


def _refuse_css(text: str) -> None:
    if _UNSAFE_CSS.search(text):
        raise ImageRefused(_l("The SVG file contains style rules that load or run something. "
                              "Save it again without them."))
    for match in _URL.finditer(text):
        if not match.group(2).strip().startswith("#"):
            raise ImageRefused(_l("The SVG file refers to other files or web addresses (%(what)s). "
                                  "Save it with everything inside the file.", what=match.group(2)[:60]))


def sanitise_svg(data: bytes) -> CheckedImage:
    """The SVG rebuilt from what the allow-list keeps; refused when it holds active content."""
    try:
        root = fromstring(data)  # no entities, nothing external
    except (DefusedXmlException, ElementTree.ParseError, ValueError):
        raise ImageRefused(_l("The SVG file could not be read (it is not well-formed SVG).")) from None
    if _local(root.tag) != (SVG_NS, "svg"):
        raise ImageRefused(_l("The file is not an SVG picture."))
    _refuse_active_content(root)
    clean = _clean_element(root)
    width, height = _size(clean)
    clean.set("width", _number(width))
    clean.set("height", _number(height))
    if clean.get("viewBox") is None:
        clean.set("viewBox", f"0 0 {_number(width)} {_number(height)}")
    ElementTree.register_namespace("", SVG_NS)
    ElementTree.register_namespace("xlink", XLINK_NS)
    body = ElementTree.tostring(clean, encoding="utf-8", xml_declaration=True)
    return CheckedImage(SVG, body, max(1, round(width)), max(1, round(height)))


def _refuse_active_content(root) -> None:
    """Anything that runs, loads or changes, anywhere in the file (also inside elements the
    allow-list would drop): the upload is refused rather than quietly changed."""
    for element in root.iter():
        name = _local(element.tag)[1] if isinstance(element.tag, str) else ""
        if name in ACTIVE_ELEMENTS:
            raise ImageRefused(_l("The SVG file contains active content (%(what)s), which a floor plan "
                                  "must not have. Save it again as a plain drawing.", what=name))
        if name == "style":
            _refuse_css(element.text or "")
        for attribute, value in element.attrib.items():
            attribute_name = _local(attribute)[1]
            if attribute_name.lower().startswith("on"):
                raise ImageRefused(_l("The SVG file contains event handlers (%(what)s), which a floor "
                                      "plan must not have. Save it again as a plain drawing.",
                                      what=attribute_name))
            if attribute_name == "href" and not _internal_reference(name, value):
                raise ImageRefused(_l("The SVG file refers to other files or web addresses (%(what)s). "
                                      "Save it with everything inside the file.", what=value.strip()[:60]))
            _refuse_css(value)


def _internal_reference(element: str, value: str) -> bool:
    target = value.strip()
    return target.startswith("#") or (element == "image" and bool(_INLINE_IMAGE.match(target)))


def _clean_element(element) -> ElementTree.Element:
    name = _local(element.tag)[1]
    clean = ElementTree.Element(f"{{{SVG_NS}}}{name}")
    for attribute, value in element.attrib.items():
        kept = _clean_attribute(name, attribute, value)
        if kept is not None:
            clean.set(*kept)
    clean.text = element.text if name in ("text", "tspan", "title", "desc", "style") else None
    for child in element:
        child_namespace, child_name = _local(child.tag) if isinstance(child.tag, str) else ("", "")
        if child_namespace == SVG_NS and child_name in ALLOWED_ELEMENTS:
            kept = _clean_element(child)
            kept.tail = child.tail if name in ("text", "tspan") else None
            clean.append(kept)
        # Anything else (editor namespaces, metadata, comments) is left out.
    return clean


def _clean_attribute(element: str, attribute: str, value: str) -> tuple[str, str] | None:
    """The attribute as kept, or None to leave it out (active ones were refused before)."""
    namespace, name = _local(attribute)
    if name == "href" and namespace in ("", XLINK_NS):
        return f"{{{XLINK_NS}}}href" if namespace else "href", value.strip()
    if namespace == XML_NS and name == "space":
        return attribute, value
    if namespace or name not in ALLOWED_ATTRIBUTES:
        return None
    return name, value


def _size(root) -> tuple[float, float]:
    """The drawing's width and height: its viewBox, else its width and height in pixels."""
    box = (root.get("viewBox") or "").replace(",", " ").split()
    try:
        if len(box) == 4 and float(box[2]) > 0 and float(box[3]) > 0:
            return float(box[2]), float(box[3])
    except ValueError:
        pass
    found = [_LENGTH.match(root.get(name) or "") for name in ("width", "height")]
    if all(found) and float(found[0].group(1)) > 0 and float(found[1].group(1)) > 0:
        return float(found[0].group(1)), float(found[1].group(1))
    raise ImageRefused(_l("The SVG file does not say its size (a viewBox, or a width and height)."))


def _number(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")
