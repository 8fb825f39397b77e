"""connections.webhook_secret_generation, webhook_last_at, webhook_last_outcome: a partner's admin
sets webhooks up from the dashboard, rotates the (derived, never stored) secret and sees the last
delivery.

Revision ID: webhook_setup
Revises: dep_income_account
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "webhook_setup"
down_revision: str | Sequence[str] | None = "dep_income_account"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("webhook_secret_generation", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("webhook_last_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("webhook_last_outcome", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.drop_column("webhook_last_outcome")
        batch_op.drop_column("webhook_last_at")
        batch_op.drop_column("webhook_secret_generation")
