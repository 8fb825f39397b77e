"""Plain-text e-mail over SMTP (`LEDGERSYNC_SMTP_URL`); nothing is sent when it is unset.

`smtp://[user:password@]host[:port]` (add `?starttls=1` to upgrade the connection) or
`smtps://...` for implicit TLS. The standard library's `smtplib` and `email.message` do the
work; a failure is logged and reported to the caller (who retries later), never raised into
a sync.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger(__name__)


def send_mail(smtp_url: str | None, sender: str, recipients: list[str], subject: str, body: str,
              *, timeout: float = 10.0) -> bool:
    """True when the server accepted the message; False when unset, no recipient, or it failed."""
    if not smtp_url or not recipients:
        return False
    parts = urlsplit(smtp_url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        log.warning("mail.bad_smtp_url scheme=%s", parts.scheme)
        return False
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message.set_content(body)
    port = parts.port or (465 if parts.scheme == "smtps" else 25)
    try:
        client_cls = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
        with client_cls(parts.hostname, port, timeout=timeout) as client:
            if parts.scheme == "smtp" and parse_qs(parts.query).get("starttls") == ["1"]:
                client.starttls()
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.send_message(message)
        return True
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("mail.send_failed host=%s error=%s", parts.hostname, type(exc).__name__)
        return False
