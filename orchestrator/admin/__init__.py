"""The admin console's services: stuck dossiers, statistics, incident actions, CSV exports.

This package is the one place listing what the admin API and the HTML console call.  Every
action needs a non-blank reason and an actor, runs in one transaction holding the dossier's
lock, and leaves an ``admin.<action>`` event with both in the dossier's history.
"""

from .csv_export import statistics_csv, stuck_csv
from .deadline_extension import extend_deadline
from .incidents import bulk_retry, retry_incident
from .reassignment import reassign_step
from .statistics import StatisticsRow, dossier_statistics
from .stuck import STUCK_KINDS, StuckFilter, StuckItem, find_stuck
from .suspension import cancel_dossier, resume_dossier, suspend_dossier
from .token_moves import MovePreview, move_token, preview_move

__all__ = [
    "STUCK_KINDS",
    "MovePreview",
    "StatisticsRow",
    "StuckFilter",
    "StuckItem",
    "bulk_retry",
    "cancel_dossier",
    "dossier_statistics",
    "extend_deadline",
    "find_stuck",
    "move_token",
    "preview_move",
    "reassign_step",
    "resume_dossier",
    "retry_incident",
    "statistics_csv",
    "stuck_csv",
    "suspend_dossier",
]
