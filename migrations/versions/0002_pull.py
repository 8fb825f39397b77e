"""pull: no schema change (the initial schema already holds cursors, leases, runs, errors,
webhook events and PDFs); kept so the migration chain stays 0001 -> 0002 (pull) -> 0003 (push).

Revision ID: 0002
Revises: 0001
"""
from collections.abc import Sequence

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
