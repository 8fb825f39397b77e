"""external_refs.details_due: line items may have changed since the last detail read (issue 13:
a detail call only where line items can have changed; other modifications wait for the sweep).

Existing refs whose details are older than their modification keep being due (what the details
stream did before this column existed).

Revision ID: p13a_details_due
Revises: sec_invoice_numbers
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p13a_details_due"
down_revision: str | Sequence[str] | None = "sec_invoice_numbers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("external_refs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("details_due", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(
        "UPDATE external_refs SET details_due = TRUE WHERE entity = 'invoice' AND "
        "(details_synced_at IS NULL OR details_synced_at <> zoho_last_modified)"
    )


def downgrade() -> None:
    with op.batch_alter_table("external_refs", schema=None) as batch_op:
        batch_op.drop_column("details_due")
