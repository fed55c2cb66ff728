"""Every background job kind besides in-process handlers, and the function that runs it.

One explicit table (no import side effects): a worker claims a job of any kind listed here
and runs it outside any transaction; a runner that raises is retried with backoff, then
dead-lettered, which admins see.
"""

from __future__ import annotations

from .dossiers import portal_sender, portal_sync
from .notify.delivery import run_delivery
from .worker import JobRunner

JOB_RUNNERS: dict[str, JobRunner] = {
    "notify.deliver": run_delivery,
    portal_sync.JOB_KIND: portal_sender.run_portal_sync,
}
