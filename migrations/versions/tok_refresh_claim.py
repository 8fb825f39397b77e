"""connections.token_refresh_claim(_until): a token refresh is claimed, not locked (issue 9: no
transaction or lock is held across the call to Zoho's accounts server).

Revision ID: tok_refresh_claim
Revises: 0007_staff
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "tok_refresh_claim"
down_revision: str | Sequence[str] | None = "0007_staff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_refresh_claim", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("token_refresh_claim_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.drop_column("token_refresh_claim_until")
        batch_op.drop_column("token_refresh_claim")
