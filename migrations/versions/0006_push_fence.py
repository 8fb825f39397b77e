"""push_intents: a fencing token and the deadline of the write in flight, so a push whose worker
died is taken over within seconds (heartbeat on the lease) and never posted twice (issue 9).

Revision ID: 0006_push_fence
Revises: h9_alerts
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_push_fence"
down_revision: str | Sequence[str] | None = "h9_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("push_intents") as batch:
        batch.add_column(sa.Column("fence", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("write_deadline", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("push_intents") as batch:
        batch.drop_column("write_deadline")
        batch.drop_column("fence")
