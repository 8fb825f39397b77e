"""invoices: how each was settled in Zoho (paid, credited, written off), so a write-off or a
credit note is never shown as a collection (issue 14).

Revision ID: d14_settlement
Revises: 0002
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d14_settlement"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("paid_amount", "credited_amount", "written_off_amount")


def upgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        for name in COLUMNS:
            batch.drop_column(name)
