"""The demo partner of docs/CONTRACTS.md, created on first start and left alone afterwards."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from ledgersync.services import partners
from ledgersync.services.errors import InvalidInput
from ledgersync.sync.ports import Transactional

DEMO_PARTNER_NAME = "Demo MSP"
DEMO_EMAIL = "partner@demo.test"
DEMO_PASSWORD = "demo-partner-1234"


def seed_demo_partner(container: Transactional) -> str:
    """The demo partner's id; creates partner and owner user only if the user does not exist."""
    existing = partners.find_user_by_email(container, DEMO_EMAIL)
    if existing is not None:
        return existing.partner_id
    try:
        created = partners.create_partner(container, name=DEMO_PARTNER_NAME, email=DEMO_EMAIL, password=DEMO_PASSWORD)
    except (InvalidInput, IntegrityError):  # another process seeded it between our look-up and insert
        again = partners.find_user_by_email(container, DEMO_EMAIL)
        if again is None:
            raise
        return again.partner_id
    return created.partner.id
