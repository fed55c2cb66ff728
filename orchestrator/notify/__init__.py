"""Notice delivery: e-mail over SMTP and signed webhooks, queued through the job outbox.

``queue_notice`` records a notice and one delivery per recipient in the caller's transaction;
the ``notify.deliver`` job sends each one outside any transaction, retrying with backoff.
"""

from .outbox import queue_notice

__all__ = ["queue_notice"]
