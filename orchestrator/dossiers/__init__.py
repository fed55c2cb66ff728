"""Dossiers (hồ sơ): receipt, the lifecycle, national status codes and the portal sync.

A dossier is the business face of one process instance (``models.Dossier``), created in
the transaction that starts the instance.  Its internal state (``states.DossierState``)
follows the process inside every engine step (``follow.follow_dossier``) and is mapped onto
the national status codes 1-10; every transition is a ``dossier.<transition>`` event in the
instance's hash-chained history and, when the national status changes, a row in the portal
sync outbox (``portal_sync``).

Public functions, by module (imported from there: the engine imports ``follow``, so this
package must not import the modules that import the engine):

- ``lifecycle``: ``receive``, ``request_supplement``, ``receive_supplement``, ``refuse``,
  ``finish``, ``return_result``, ``withdraw``, ``stop``;
- ``queries``: ``get_dossier``, ``list_dossiers``, ``dossier_history``, ``find`` (with
  per-agency visibility);
- ``codes``: ``check_pattern``, ``set_code_pattern``, ``lookup_code_matches``;
- ``transitions``: ``note_reappointment`` (called by ``deadlines.reappointment``);
- ``portal_sync``: the outbox (``queue_change``, ``build_payload``) and ``resend_dead``;
  ``portal_sender``: ``run_portal_sync``, the ``portal.sync`` job runner (retries for about a
  day); ``portal_status``: ``sync_status`` per dossier and ``unsent_changes`` for admins.
"""

from .codes import DEFAULT_PATTERN, check_pattern, lookup_code_matches
from .models import Dossier, DossierSequence, DossierSupplement, PortalSync
from .states import NATIONAL_STATUS, DossierState

__all__ = [
    "DEFAULT_PATTERN",
    "NATIONAL_STATUS",
    "Dossier",
    "DossierSequence",
    "DossierState",
    "DossierSupplement",
    "PortalSync",
    "check_pattern",
    "lookup_code_matches",
]
