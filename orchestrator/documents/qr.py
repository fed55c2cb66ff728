"""The receipt's QR code: the public lookup address as an inline SVG (no image files, no network)."""

from __future__ import annotations

from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from markupsafe import Markup


def lookup_url(public_base_url: str, code: str, lookup_code: str) -> str:
    """The address a phone opens from the receipt: the lookup page with both codes filled in."""
    return f"{public_base_url.rstrip('/')}/tra-cuu?{urlencode({'ma': code, 'khoa': lookup_code})}"


def qr_svg(data: str) -> Markup:
    """``data`` as an SVG QR code, safe to place in an HTML page as it is.

    Error correction M survives a creased or lightly stained paper receipt; the SVG is one
    path in module units, so the print stylesheet alone decides its printed size.
    """
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(data)
    code.make(fit=True)
    image = code.make_image(image_factory=qrcode.image.svg.SvgPathImage)
    svg = image.to_string(encoding="unicode")
    # The library writes only numbers and its own path; nothing of the dossier is unescaped here.
    return Markup(svg)  # noqa: S704
