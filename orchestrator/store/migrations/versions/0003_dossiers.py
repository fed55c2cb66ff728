"""dossiers: codes, lifecycle, national status, portal sync

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 17:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("agency", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dossier_code_pattern", sa.String(length=128), nullable=True))

    op.create_table(
        "dossier",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("lookup_code", sa.String(length=8), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("process_key", sa.String(length=150), nullable=False),
        sa.Column("procedure_code", sa.String(length=64), nullable=True),
        sa.Column("procedure_name", sa.String(length=500), nullable=True),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("applicant", sa.JSON(), nullable=False),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("national_status", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("appointment_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reappointment_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("return_method", sa.String(length=16), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("outcome_reason", sa.Text(), nullable=True),
        sa.Column("supplement_count", sa.Integer(), nullable=False),
        sa.Column("sync_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
        sa.UniqueConstraint("instance_id"),
    )
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.create_index("ix_dossier_received", ["received_at", "id"], unique=False)
        batch_op.create_index("ix_dossier_agency_received", ["agency", "received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_dossier_process_key"), ["process_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_dossier_procedure_code"), ["procedure_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_dossier_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_dossier_national_status"), ["national_status"], unique=False)

    op.create_table(
        "dossier_supplement",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("dossier_id", sa.String(length=36), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_after", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dossier_supplement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dossier_supplement_dossier_id"), ["dossier_id"], unique=False)

    op.create_table(
        "dossier_sequence",
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("agency", "day"),
    )

    op.create_table(
        "portal_sync",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("dossier_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("national_status", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(length=255), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dossier_id", "seq"),
    )
    with op.batch_alter_table("portal_sync", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_sync_dossier_id"), ["dossier_id"], unique=False)
        batch_op.create_index(
            "ix_portal_sync_unsent",
            ["dossier_id", "seq"],
            unique=False,
            sqlite_where=sa.text("status IN ('pending', 'failed')"),
            postgresql_where=sa.text("status IN ('pending', 'failed')"),
        )


def downgrade() -> None:
    op.drop_table("portal_sync")
    op.drop_table("dossier_sequence")
    op.drop_table("dossier_supplement")
    op.drop_table("dossier")
    with op.batch_alter_table("agency", schema=None) as batch_op:
        batch_op.drop_column("dossier_code_pattern")
