"""staff_users and staff_sessions: the operator console's own logins (issue 11).

Revision ID: 0007_staff
Revises: p13a_details_due
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_staff"
down_revision: str | Sequence[str] | None = "p13a_details_due"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("token_digest", sa.String(64), primary_key=True),
        sa.Column("staff_id", sa.String(32), sa.ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_staff_sessions_staff_id", "staff_sessions", ["staff_id"])


def downgrade() -> None:
    op.drop_index("ix_staff_sessions_staff_id", "staff_sessions")
    op.drop_table("staff_sessions")
    op.drop_table("staff_users")
