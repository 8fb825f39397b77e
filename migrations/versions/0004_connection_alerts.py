"""connection_alerts: one row per incident of a connection (issue 9), so a partner is told once
when it opens and once when it is resolved, not on every retry.

Revision ID: h9_alerts
Revises: 0003_sec_sessions
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "h9_alerts"
down_revision: str | Sequence[str] | None = "0003_sec_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "connection_alerts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("connection_id", sa.String(32), sa.ForeignKey("connections.id"), nullable=False),
        sa.Column("partner_id", sa.String(32), sa.ForeignKey("partners.id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_notified_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_connection_alerts_open", "connection_alerts", ["connection_id", "resolved_at"])
    op.create_index("ix_connection_alerts_partner_id", "connection_alerts", ["partner_id"])


def downgrade() -> None:
    op.drop_index("ix_connection_alerts_partner_id", "connection_alerts")
    op.drop_index("ix_connection_alerts_open", "connection_alerts")
    op.drop_table("connection_alerts")
