"""security: platform invoice numbers unique per partner (no count+1 race).

Existing duplicates (two platform invoices of one partner with the same number) are renamed
`<number>-2`, `-3`, … in creation order before the unique index is created.

Revision ID: sec_invoice_numbers
Revises: 0006_push_fence
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "sec_invoice_numbers"
down_revision: str | Sequence[str] | None = "0006_push_fence"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT id, partner_id, number FROM invoices WHERE origin = 'platform' ORDER BY partner_id, number, created_at, id"
    )).all()
    seen: dict[tuple[str, str], int] = {}
    for invoice_id, partner_id, number in rows:
        key = (partner_id, number)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            bind.execute(sa.text("UPDATE invoices SET number = :n WHERE id = :id"),
                         {"n": f"{number}-{seen[key]}"[:100], "id": invoice_id})
    op.create_index("uq_invoices_partner_platform_number", "invoices", ["partner_id", "number"], unique=True,
                    postgresql_where=sa.text("origin = 'platform'"), sqlite_where=sa.text("origin = 'platform'"))


def downgrade() -> None:
    op.drop_index("uq_invoices_partner_platform_number", table_name="invoices")
