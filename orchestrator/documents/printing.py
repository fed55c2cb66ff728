"""One printable document of one dossier, for the people allowed to read that dossier."""

from __future__ import annotations

import datetime as dt

from ..access import Principal
from ..clock import utcnow
from ..dossiers.lifecycle import APPLICANT_FIELDS
from ..errors import NotFound
from ..store.db import Database
from .facts import load_facts
from .kinds import KINDS
from .qr import lookup_url, qr_svg
from .rendering import render


def render_document(
    db: Database,
    code: str,
    kind_name: str,
    *,
    principal: Principal,
    public_base_url: str,
    now: dt.datetime | None = None,
) -> str:
    """The HTML page of document ``kind_name`` for dossier ``code``.

    An agency that does not handle the dossier gets the same NotFound as for an unknown code,
    so a caller cannot probe which dossier codes exist elsewhere.
    """
    kind = KINDS.get(kind_name)
    if kind is None:
        raise NotFound(f"unknown document kind; known kinds: {', '.join(KINDS)}")
    facts = load_facts(db, code, principal)
    context = kind.build(facts)
    dossier = facts.dossier
    url = lookup_url(public_base_url, dossier.code, dossier.lookup_code)
    # The date under the motto is the document's own date (receipt: the day received), else today.
    context["issued_at"] = context.get("issued_at") or now or utcnow()
    return render(
        kind.template,
        {
            **context,
            "kind": kind,
            "dossier": dossier,
            # Every field present, so a missing phone prints nothing instead of failing the template.
            "applicant": {name: (dossier.applicant or {}).get(name) or "" for name in APPLICANT_FIELDS},
            "agency_name": facts.agency_name(dossier.agency),
            "qr": qr_svg(url),
            "lookup_page": f"{public_base_url.rstrip('/')}/tra-cuu",
        },
    )
