"""Zoho data centres: which accounts server signs a partner in, which API domain serves them.

A connector that hard-codes ``.com`` breaks every non-US partner. The consent callback says
where the user lives (``location``, ``accounts-server``), the token answer says where the API
is (``api_domain``). We only ever send the client secret to an accounts server we know: a
forged ``accounts-server`` in a callback must not receive it.

For the local sandbox everything sits under one base URL: US at the base, other data centres
under ``/{location}`` (``http://127.0.0.1:8900/eu``).
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class DataCentre:
    code: str
    accounts_server: str
    api_domain: str


DATA_CENTRES: dict[str, DataCentre] = {
    dc.code: dc
    for dc in (
        DataCentre("us", "https://accounts.zoho.com", "https://www.zohoapis.com"),
        DataCentre("eu", "https://accounts.zoho.eu", "https://www.zohoapis.eu"),
        DataCentre("in", "https://accounts.zoho.in", "https://www.zohoapis.in"),
        DataCentre("au", "https://accounts.zoho.com.au", "https://www.zohoapis.com.au"),
        DataCentre("jp", "https://accounts.zoho.jp", "https://www.zohoapis.jp"),
        DataCentre("ca", "https://accounts.zohocloud.ca", "https://www.zohoapis.ca"),
        DataCentre("cn", "https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn"),
        DataCentre("sa", "https://accounts.zoho.sa", "https://www.zohoapis.sa"),
        DataCentre("uk", "https://accounts.zoho.uk", "https://www.zohoapis.uk"),
    )
}


class UnknownDataCentre(ValueError):
    """A location or accounts server we do not know (and will not send secrets to)."""


def books_base_url(api_domain: str) -> str:
    """``{api_domain}/books/v3`` without a doubled slash."""
    return api_domain.rstrip("/") + "/books/v3"


def _norm(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


class ZohoHosts:
    """Resolve hosts per data centre; ``override_base`` points every DC at a local sandbox."""

    def __init__(self, override_base: str | None = None) -> None:
        self.override_base = override_base.rstrip("/") if override_base else None

    def _local(self, location: str) -> str:
        assert self.override_base is not None
        return self.override_base if location == "us" else f"{self.override_base}/{location}"

    def data_centre(self, location: str | None) -> DataCentre:
        code = (location or "us").strip().lower()
        if code == "com":
            code = "us"
        if code not in DATA_CENTRES:
            raise UnknownDataCentre(f"unknown Zoho data centre {location!r}")
        if self.override_base:
            return DataCentre(code, self._local(code), self._local(code))
        return DATA_CENTRES[code]

    def accounts_server(self, location: str | None = "us") -> str:
        return self.data_centre(location).accounts_server

    def api_domain(self, location: str | None = "us") -> str:
        return self.data_centre(location).api_domain

    def location_of(self, url: str) -> str:
        """The DC code of a known accounts server or API domain."""
        wanted = _norm(url)
        for code in DATA_CENTRES:
            dc = self.data_centre(code)
            if wanted in (_norm(dc.accounts_server), _norm(dc.api_domain)):
                return code
        raise UnknownDataCentre(f"{url!r} is not a known Zoho host")

    def trusted_accounts_server(self, location: str | None, accounts_server: str | None) -> str:
        """The accounts server to exchange a callback's code at.

        Uses the callback's ``accounts-server`` only if it is one of ours (and agrees with
        ``location`` when both are given); otherwise derives it from ``location``.
        """
        if accounts_server:
            code = self.location_of(accounts_server)
            if location and self.data_centre(location).code != code:
                raise UnknownDataCentre(f"accounts-server {accounts_server!r} does not match location {location!r}")
            return self.data_centre(code).accounts_server
        return self.accounts_server(location)

    def trusted_api_domain(self, api_domain: str) -> str:
        """A token's ``api_domain``, checked against the table (refuses unknown hosts)."""
        return self.data_centre(self.location_of(api_domain)).api_domain
