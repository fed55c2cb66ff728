"""Printable documents of a dossier: receipt (form 01), supplement request (02), refusal (03),
apology and re-appointment (04) and the control sheet, as A4 HTML pages in Vietnamese.

Each page carries a QR code of the public lookup address with the dossier's lookup code, so
the applicant's phone opens the dossier's status straight from the paper.
"""

from .kinds import KINDS, DocumentKind, DocumentNotApplicable
from .printing import render_document
from .qr import lookup_url, qr_svg

__all__ = ["KINDS", "DocumentKind", "DocumentNotApplicable", "lookup_url", "qr_svg", "render_document"]
