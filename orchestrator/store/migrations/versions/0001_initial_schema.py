"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 16:28:24.267718
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agency",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("parent_code", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_code"],
            ["agency.code"],
        ),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "calendar_day",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("scope_code", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("replaced_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("origin", sa.String(length=255), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["replaced_by_id"],
            ["calendar_day.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("calendar_day", schema=None) as batch_op:
        batch_op.create_index("ix_calendar_day_active_date", ["active", "date"], unique=False)
        batch_op.create_index("ix_calendar_day_key", ["date", "scope", "scope_code"], unique=False)

    op.create_table(
        "deployment",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("source", sa.String(length=255), nullable=True),
        sa.Column("tenant_id", sa.String(length=64), nullable=True),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "event",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("activity_id", sa.String(length=255), nullable=True),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=True),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index("ix_event_instance", ["instance_id", "id"], unique=False)

    op.create_table(
        "idempotency_record",
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "key"),
    )
    op.create_table(
        "job",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=255), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_index(
            "ix_job_leased",
            ["lease_expires_at"],
            unique=False,
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )
        batch_op.create_index(
            "ix_job_runnable",
            ["run_at"],
            unique=False,
            sqlite_where=sa.text("status = 'queued'"),
            postgresql_where=sa.text("status = 'queued'"),
        )
        batch_op.create_index(
            "ux_job_dedupe_open",
            ["dedupe_key"],
            unique=True,
            sqlite_where=sa.text("status IN ('queued', 'running')"),
            postgresql_where=sa.text("status IN ('queued', 'running')"),
        )

    op.create_table(
        "notification",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("deadline_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_agency"), ["agency"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_instance_id"), ["instance_id"], unique=False)

    op.create_table(
        "office_hours",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("agency_code", sa.String(length=64), nullable=True),
        sa.Column("sessions", sa.JSON(), nullable=False),
        sa.Column("cutoff", sa.String(length=5), nullable=False),
        sa.Column("province_code", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agency_code"),
    )
    op.create_table(
        "api_client",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("agency_code", sa.String(length=64), nullable=True),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("token_prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_code"],
            ["agency.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("api_client", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_client_agency_code"), ["agency_code"], unique=False)

    op.create_table(
        "process_definition",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=150), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("version_tag", sa.String(length=64), nullable=True),
        sa.Column("resource_name", sa.String(length=255), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("bpmn_xml", sa.LargeBinary(), nullable=False),
        sa.Column("spec_state", sa.LargeBinary(), nullable=False),
        sa.Column("serializer_version", sa.String(length=32), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("start_message", sa.String(length=255), nullable=True),
        sa.Column("deployment_id", sa.String(length=36), nullable=False),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployment.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", "version"),
    )
    with op.batch_alter_table("process_definition", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_process_definition_key"), ["key"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_process_definition_start_message"), ["start_message"], unique=False
        )

    op.create_table(
        "topic_agency",
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("agency_code", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_code"],
            ["agency.code"],
        ),
        sa.PrimaryKeyConstraint("topic"),
    )
    op.create_table(
        "process_instance",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("definition_id", sa.String(length=200), nullable=False),
        sa.Column("process_key", sa.String(length=150), nullable=False),
        sa.Column("business_key", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("serializer_version", sa.String(length=32), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("current_activities", sa.JSON(), nullable=False),
        sa.Column("next_timer_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("last_event_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["definition_id"],
            ["process_definition.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_process_instance_business_key"), ["business_key"], unique=False)
        batch_op.create_index("ix_process_instance_created", ["created_at", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_process_instance_definition_id"), ["definition_id"], unique=False
        )
        batch_op.create_index(
            "ix_process_instance_next_timer",
            ["next_timer_at"],
            unique=False,
            sqlite_where=sa.text("next_timer_at IS NOT NULL"),
            postgresql_where=sa.text("next_timer_at IS NOT NULL"),
        )
        batch_op.create_index(batch_op.f("ix_process_instance_process_key"), ["process_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_process_instance_status"), ["status"], unique=False)

    op.create_table(
        "deadline",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("activity_id", sa.String(length=255), nullable=True),
        sa.Column("activity_name", sa.String(length=255), nullable=True),
        sa.Column("agency", sa.String(length=64), nullable=True),
        sa.Column("budget", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("original_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rescheduled_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reappointed_by", sa.String(length=64), nullable=True),
        sa.Column("reappointment_reason", sa.Text(), nullable=True),
        sa.Column("warn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pauses", sa.JSON(), nullable=False),
        sa.Column("supplement_count", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("warned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deadline", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deadline_agency"), ["agency"], unique=False)
        batch_op.create_index(
            "ix_deadline_due_open",
            ["due_at"],
            unique=False,
            sqlite_where=sa.text("state IN ('running', 'warned')"),
            postgresql_where=sa.text("state IN ('running', 'warned')"),
        )
        batch_op.create_index(batch_op.f("ix_deadline_instance_id"), ["instance_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deadline_task_id"), ["task_id"], unique=False)
        batch_op.create_index(
            "ix_deadline_warn_running",
            ["warn_at"],
            unique=False,
            sqlite_where=sa.text("state = 'running'"),
            postgresql_where=sa.text("state = 'running'"),
        )

    op.create_table(
        "external_task",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("definition_id", sa.String(length=200), nullable=False),
        sa.Column("process_key", sa.String(length=150), nullable=False),
        sa.Column("business_key", sa.String(length=255), nullable=True),
        sa.Column("activity_id", sa.String(length=255), nullable=False),
        sa.Column("activity_name", sa.String(length=255), nullable=True),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("handled_in_process", sa.Boolean(), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lock_owner", sa.String(length=255), nullable=True),
        sa.Column("lock_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retries", sa.Integer(), nullable=True),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_message", sa.String(length=666), nullable=True),
        sa.Column("error_details", sa.Text(), nullable=True),
        sa.Column("incident", sa.Boolean(), nullable=False),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("local_variables", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("external_task", schema=None) as batch_op:
        batch_op.create_index("ix_external_task_agency", ["agency", "created_at", "id"], unique=False)
        batch_op.create_index(
            "ix_external_task_claim",
            ["agency", "topic", "priority", "created_at"],
            unique=False,
            postgresql_where=sa.text("NOT handled_in_process AND NOT incident AND NOT suspended"),
            sqlite_where=sa.text("handled_in_process = 0 AND incident = 0 AND suspended = 0"),
        )
        batch_op.create_index(
            "ix_external_task_fetch", ["topic", "lock_expires_at", "priority", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_external_task_instance_id"), ["instance_id"], unique=False)

    op.create_table(
        "user_task",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("activity_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("assignee", sa.String(length=255), nullable=True),
        sa.Column("candidate_groups", sa.String(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("user_task", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_task_instance_id"), ["instance_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("user_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_task_instance_id"))

    op.drop_table("user_task")
    with op.batch_alter_table("external_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_external_task_instance_id"))
        batch_op.drop_index("ix_external_task_fetch")
        batch_op.drop_index(
            "ix_external_task_claim",
            postgresql_where=sa.text("NOT handled_in_process AND NOT incident AND NOT suspended"),
            sqlite_where=sa.text("handled_in_process = 0 AND incident = 0 AND suspended = 0"),
        )
        batch_op.drop_index("ix_external_task_agency")

    op.drop_table("external_task")
    with op.batch_alter_table("deadline", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_deadline_warn_running",
            sqlite_where=sa.text("state = 'running'"),
            postgresql_where=sa.text("state = 'running'"),
        )
        batch_op.drop_index(batch_op.f("ix_deadline_task_id"))
        batch_op.drop_index(batch_op.f("ix_deadline_instance_id"))
        batch_op.drop_index(
            "ix_deadline_due_open",
            sqlite_where=sa.text("state IN ('running', 'warned')"),
            postgresql_where=sa.text("state IN ('running', 'warned')"),
        )
        batch_op.drop_index(batch_op.f("ix_deadline_agency"))

    op.drop_table("deadline")
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_process_instance_status"))
        batch_op.drop_index(batch_op.f("ix_process_instance_process_key"))
        batch_op.drop_index(
            "ix_process_instance_next_timer",
            sqlite_where=sa.text("next_timer_at IS NOT NULL"),
            postgresql_where=sa.text("next_timer_at IS NOT NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_process_instance_definition_id"))
        batch_op.drop_index("ix_process_instance_created")
        batch_op.drop_index(batch_op.f("ix_process_instance_business_key"))

    op.drop_table("process_instance")
    op.drop_table("topic_agency")
    with op.batch_alter_table("process_definition", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_process_definition_start_message"))
        batch_op.drop_index(batch_op.f("ix_process_definition_key"))

    op.drop_table("process_definition")
    with op.batch_alter_table("api_client", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_client_agency_code"))

    op.drop_table("api_client")
    op.drop_table("office_hours")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_instance_id"))
        batch_op.drop_index(batch_op.f("ix_notification_agency"))

    op.drop_table("notification")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index(
            "ux_job_dedupe_open",
            sqlite_where=sa.text("status IN ('queued', 'running')"),
            postgresql_where=sa.text("status IN ('queued', 'running')"),
        )
        batch_op.drop_index(
            "ix_job_runnable",
            sqlite_where=sa.text("status = 'queued'"),
            postgresql_where=sa.text("status = 'queued'"),
        )
        batch_op.drop_index(
            "ix_job_leased",
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )

    op.drop_table("job")
    op.drop_table("idempotency_record")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index("ix_event_instance")

    op.drop_table("event")
    op.drop_table("deployment")
    with op.batch_alter_table("calendar_day", schema=None) as batch_op:
        batch_op.drop_index("ix_calendar_day_key")
        batch_op.drop_index("ix_calendar_day_active_date")

    op.drop_table("calendar_day")
    op.drop_table("agency")
