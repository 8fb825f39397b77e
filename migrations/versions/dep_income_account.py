"""connections.income_account_id/_name: the account a stand-alone deposit comes from in Zoho
(issue 14: its "from" account was blank), chosen in Set Up Accounts (default: Sales).

Revision ID: dep_income_account
Revises: tok_refresh_claim
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "dep_income_account"
down_revision: str | Sequence[str] | None = "tok_refresh_claim"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("income_account_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("income_account_name", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.drop_column("income_account_name")
        batch_op.drop_column("income_account_id")
