"""The ways an alert leaves: a signed webhook, e-mail over SMTP, an HTTP SMS gateway.

Each is a blocking call (run in a thread by the sender) that returns on success and
raises :class:`SendError` otherwise, saying whether trying again could help (a gateway
that is down: yes; an address the server rejects: no).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import urllib.error
import urllib.request
from email.message import EmailMessage

from ..core.hall import NotifySettings

TIMEOUT_S = 10.0


class SendError(Exception):
    def __init__(self, message: str, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the exact body, the receiver's proof it is ours."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _post(url: str, body: bytes, headers: dict[str, str]) -> None:
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
            resp.read()
    except urllib.error.HTTPError as exc:
        # 4xx other than 408/429 will not get better by trying again
        retry = exc.code >= 500 or exc.code in (408, 429)
        raise SendError(f"HTTP {exc.code} from {exc.url}", retry=retry) from None
    except (TimeoutError, urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SendError(f"cannot reach {url}: {reason}") from None


def webhook(settings: NotifySettings, payload: dict[str, object]) -> None:
    assert settings.webhook_url is not None
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "X-HallQ-Key": str(payload["key"])}
    if settings.webhook_secret:
        headers["X-HallQ-Signature"] = signature(settings.webhook_secret, body)
    _post(settings.webhook_url, body, headers)


def upload(url: str, payload: dict[str, object], secret: str | None = None) -> None:
    """A rating or ledger record to the upward endpoint; its record id is the key the
    receiver keeps it once by (a killed sender may send it again). With ``secret`` the
    body is signed as webhooks are (``X-HallQ-Signature: sha256=<hex>``)."""
    body = json.dumps(
        {"record_id": payload["key"], "kind": payload["kind"], "record": payload["record"]},
        ensure_ascii=False,
    ).encode()
    headers = {"Content-Type": "application/json", "X-HallQ-Key": str(payload["key"])}
    if secret:
        headers["X-HallQ-Signature"] = signature(secret, body)
    _post(url, body, headers)


def sms(settings: NotifySettings, phone: str, text: str) -> None:
    assert settings.sms_url is not None

    def esc(v: str) -> str:
        return json.dumps(v, ensure_ascii=False)[1:-1]

    body = settings.sms_body.replace("{phone}", esc(phone)).replace("{text}", esc(text))
    _post(settings.sms_url, body.encode(), {"Content-Type": "application/json"})


def email(settings: NotifySettings, to: str, subject: str, text: str, key: str) -> None:
    assert settings.smtp_host is not None
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = f"[HallQ] {subject}"
    msg["X-HallQ-Key"] = key
    msg.set_content(text)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_S) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user and settings.smtp_password:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendError(f"the SMTP server refused {to}: {exc.recipients}", retry=False) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(f"SMTP {settings.smtp_host}:{settings.smtp_port}: {exc}") from None
