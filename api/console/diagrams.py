"""The inline SVG of a diagram, or None when the file has no drawing (BPMNDI) to show."""

from __future__ import annotations

import logging

from markupsafe import Markup

from orchestrator.diagram import Overlays, render_svg
from orchestrator.errors import OrchestratorError

log = logging.getLogger(__name__)


def diagram_markup(xml: bytes, overlays: Overlays) -> Markup | None:
    """The renderer escapes every name taken from the diagram: its SVG is the one thing marked safe."""
    try:
        return Markup(render_svg(xml, overlays))  # noqa: S704 - escaped by the renderer (see above)
    except OrchestratorError as error:  # a diagram deployed without a drawing, or one the loader refuses
        log.info("diagram not drawn: %s", error.detail)
        return None
