"""portal sync: dead changes stay in the unsent index (listed for admins, sent before later changes)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _unsent_index(statuses: str) -> None:
    with op.batch_alter_table("portal_sync", schema=None) as batch_op:
        batch_op.drop_index("ix_portal_sync_unsent")
        batch_op.create_index(
            "ix_portal_sync_unsent",
            ["dossier_id", "seq"],
            unique=False,
            sqlite_where=sa.text(f"status IN ({statuses})"),
            postgresql_where=sa.text(f"status IN ({statuses})"),
        )


def upgrade() -> None:
    _unsent_index("'pending', 'failed', 'dead'")


def downgrade() -> None:
    _unsent_index("'pending', 'failed'")
