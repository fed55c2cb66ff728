"""Read the QR code printed in a document back, as a phone would: rasterise the SVG, then decode it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import zxingcpp

SVG_NS = "{http://www.w3.org/2000/svg}"
_SVG = re.compile(r"<svg\b.*?</svg>", re.DOTALL)
_RECT = re.compile(r"M([\d.]+),([\d.]+)H([\d.]+)V([\d.]+)H([\d.]+)z")
PIXELS_PER_MODULE = 8


def svgs_in(html: str) -> list[str]:
    return _SVG.findall(html)


def rasterise(svg: str) -> tuple[bytes, int, int]:
    """Grey pixels (0 black, 255 white) of the SVG's dark modules; the SVG is one path of squares."""
    root = ET.fromstring(svg)
    _, _, width, height = (float(v) for v in root.attrib["viewBox"].split())
    columns, rows = int(width * PIXELS_PER_MODULE), int(height * PIXELS_PER_MODULE)
    pixels = bytearray(b"\xff" * (columns * rows))
    paths = root.findall(f"{SVG_NS}path")
    assert paths, "the QR SVG has no path"
    for path in paths:
        data = path.attrib["d"]
        squares = _RECT.findall(data)
        # Every drawing command must be a square we understood, or the raster would be wrong.
        assert sum(len(m.group(0)) for m in _RECT.finditer(data)) == len(data.replace(" ", ""))
        for x1, y1, x2, y2, _ in squares:
            left, top = int(float(x1) * PIXELS_PER_MODULE), int(float(y1) * PIXELS_PER_MODULE)
            right, bottom = int(float(x2) * PIXELS_PER_MODULE), int(float(y2) * PIXELS_PER_MODULE)
            for row in range(top, bottom):
                pixels[row * columns + left : row * columns + right] = b"\x00" * (right - left)
    return bytes(pixels), columns, rows


def decode_qr(svg: str) -> str:
    """The text the QR code carries; fails unless exactly one QR code is readable."""
    pixels, columns, rows = rasterise(svg)
    image = memoryview(pixels).cast("B", (rows, columns))
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) == 1, f"expected one readable QR code, found {len(found)}"
    return found[0].text
