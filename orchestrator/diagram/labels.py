"""Text in the drawing: wrapped to a width by an estimate, since the server has no font metrics."""

from __future__ import annotations

from lxml import etree

from .interchange import Bounds
from .svg import node

__all__ = ["FONT_SIZE", "LINE_HEIGHT", "add_text", "wrap"]

FONT_SIZE = 11.0
LINE_HEIGHT = 13.0
# Average advance of a sans-serif glyph at FONT_SIZE; Vietnamese diacritics do not widen glyphs.
_CHAR_WIDTH = FONT_SIZE * 0.5
_MAX_LINES = 12


def wrap(text: str, width: float) -> list[str]:
    """Greedy word wrap to ``width`` pixels; a word longer than a line is cut where it overflows."""
    per_line = max(int(width / _CHAR_WIDTH), 4)
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            while len(word) > per_line:
                if line:
                    lines.append(line)
                    line = ""
                lines.append(word[:per_line])
                word = word[per_line:]
            candidate = f"{line} {word}" if line else word
            if len(candidate) > per_line and line:
                lines.append(line)
                line = word
            else:
                line = candidate
        if line:
            lines.append(line)
    if len(lines) > _MAX_LINES:
        lines = [*lines[: _MAX_LINES - 1], lines[_MAX_LINES - 1] + "…"]
    return lines


def add_text(
    parent: etree._Element,
    text: str,
    box: Bounds,
    *,
    middle: bool = True,
    anchor: str = "middle",
    css_class: str = "lt-label",
) -> etree._Element | None:
    """Write ``text`` wrapped into ``box``: centred (or from the top when not ``middle``).

    lxml escapes the characters, so a name such as ``<script>`` stays text.
    """
    lines = wrap(text, box.width)
    if not text.strip() or not lines:
        return None
    height = len(lines) * LINE_HEIGHT
    top = box.y + (box.height - height) / 2 if middle else box.y
    x = {"start": box.x, "end": box.x + box.width}.get(anchor, box.x + box.width / 2)
    text_node = node(parent, "text", class_=css_class, text_anchor=anchor)
    for index, line in enumerate(lines):
        span = node(text_node, "tspan", x=x, y=top + (index + 0.8) * LINE_HEIGHT)
        span.text = line
    return text_node
