"""admin console: lock-expiry counting, suspension, deadline extensions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 17:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_instance") as table:
        table.add_column(sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("external_task") as table:
        table.add_column(sa.Column("lock_expiries", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("deadline") as table:
        table.add_column(sa.Column("extension_minutes", sa.Integer(), nullable=False, server_default="0"))
        table.add_column(sa.Column("extended_by", sa.String(255), nullable=True))
        table.add_column(sa.Column("extension_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deadline") as table:
        table.drop_column("extension_reason")
        table.drop_column("extended_by")
        table.drop_column("extension_minutes")
    with op.batch_alter_table("external_task") as table:
        table.drop_column("lock_expiries")
    with op.batch_alter_table("process_instance") as table:
        table.drop_column("suspended_at")
