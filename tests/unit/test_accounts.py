"""Partner creation, password login and API keys against the real database."""

from __future__ import annotations

import pytest

from ledgersync.services import api_keys, partners
from ledgersync.services.errors import AuthenticationFailed, InvalidInput
from tests.conftest import DEMO_LIKE_EMAIL, DEMO_LIKE_PASSWORD


def test_password_hash_is_salted_and_verifies() -> None:
    a, b = partners.hash_password("s3cret-pass"), partners.hash_password("s3cret-pass")
    assert a != b and "s3cret" not in a
    assert partners.verify_password("s3cret-pass", a)
    assert not partners.verify_password("wrong-pass", a)
    assert not partners.verify_password("s3cret-pass", "garbage")


def test_authenticate(container, user) -> None:
    assert partners.authenticate(container, DEMO_LIKE_EMAIL.upper(), DEMO_LIKE_PASSWORD).id == user.id
    with pytest.raises(AuthenticationFailed):
        partners.authenticate(container, DEMO_LIKE_EMAIL, "nope-nope")
    with pytest.raises(AuthenticationFailed):
        partners.authenticate(container, "nobody@x.test", DEMO_LIKE_PASSWORD)


def test_duplicate_email_refused(container, partner) -> None:
    with pytest.raises(InvalidInput) as err:
        partners.create_partner(container, name="Other", email=DEMO_LIKE_EMAIL, password="another-pass")
    assert err.value.field == "email"


def test_api_key_round_trip_and_revoke(container, partner, api_key) -> None:
    assert api_key.startswith("ls_live_")
    assert api_keys.partner_for_key(container, api_key) == partner.id
    for bad in ("", "ls_live_", api_key + "x", "ls_live_abc_def", api_key.replace("ls_live_", "ls_test_")):
        with pytest.raises(AuthenticationFailed):
            api_keys.partner_for_key(container, bad)
    (row,) = api_keys.list_api_keys(container, partner.id)
    api_keys.revoke_api_key(container, partner.id, row.id)
    with pytest.raises(AuthenticationFailed):
        api_keys.partner_for_key(container, api_key)
