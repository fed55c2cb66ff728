"""notification delivery: e-mail and webhooks with retries

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 17:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("agency", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=320), nullable=True))
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=255), nullable=True))

    op.create_table(
        "notification_delivery",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("notification_id", BIG_ID, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=320), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["notification_id"], ["notification.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notification_delivery", schema=None) as batch_op:
        batch_op.create_index("ix_notification_delivery_state", ["state", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_notification_delivery_notification_id"), ["notification_id"], unique=False
        )

    op.create_table(
        "webhook_subscription",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("webhook_subscription")
    with op.batch_alter_table("notification_delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_delivery_notification_id"))
        batch_op.drop_index("ix_notification_delivery_state")
    op.drop_table("notification_delivery")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_column("subject")
    with op.batch_alter_table("agency", schema=None) as batch_op:
        batch_op.drop_column("email")
