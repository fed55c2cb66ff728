"""BPMN diagrams drawn on the server as SVG, with a dossier's or a procedure's live state on top."""

from .live import definition_heatmap, definition_xml, instance_drawing, instance_overlays
from .overlays import ActivityCount, Overlays
from .render import render_svg
from .steps import Step, step_names, token_targets

__all__ = [
    "ActivityCount",
    "Overlays",
    "Step",
    "definition_heatmap",
    "definition_xml",
    "instance_drawing",
    "instance_overlays",
    "render_svg",
    "step_names",
    "token_targets",
]
