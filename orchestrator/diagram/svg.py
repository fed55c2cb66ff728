"""Small helpers for building SVG with lxml: numbers written short, points as path data."""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

from .interchange import Bounds, Point

__all__ = ["SVG", "fmt", "node", "polygon", "polyline_path", "rect", "svg_root"]

SVG = "http://www.w3.org/2000/svg"


def fmt(value: float) -> str:
    """A coordinate with one decimal at most: smaller files, same picture."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def node(parent: etree._Element, tag: str, **attributes: float | str) -> etree._Element:
    """A child element; numbers are formatted, names with ``_`` become ``-`` (stroke_width...)."""
    return etree.SubElement(
        parent,
        f"{{{SVG}}}{tag}",
        {
            name.rstrip("_").replace("_", "-"): fmt(value) if isinstance(value, float | int) else value
            for name, value in attributes.items()
        },
    )


def rect(parent: etree._Element, box: Bounds, **attributes: float | str) -> etree._Element:
    """A rectangle over ``box`` (a shape's DI bounds)."""
    return node(parent, "rect", x=box.x, y=box.y, width=box.width, height=box.height, **attributes)


def polygon(
    parent: etree._Element, points: Iterable[tuple[float, float]], **attributes: float | str
) -> etree._Element:
    return node(parent, "polygon", points=" ".join(f"{fmt(x)},{fmt(y)}" for x, y in points), **attributes)


def polyline_path(points: Iterable[Point]) -> str:
    return " ".join(f"{'M' if index == 0 else 'L'}{fmt(p.x)},{fmt(p.y)}" for index, p in enumerate(points))


def svg_root(**attributes: float | str) -> etree._Element:
    """An ``<svg>`` element with SVG as the default namespace, ready for :func:`node` children."""
    root = etree.Element(f"{{{SVG}}}svg", nsmap={None: SVG})
    for name, value in attributes.items():
        root.set(name.rstrip("_").replace("_", "-"), fmt(value) if isinstance(value, float | int) else value)
    return root
