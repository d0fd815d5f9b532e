"""Which event alerts whom, over which channel, with what words: the alert rules.

Pure: an event and the hall's ``[notify]``/``[[alerts]]`` settings in, the alerts to
send out. Each alert has a key made of the event's sequence number, the recipient and
the channel, so a receiver that sees it twice (the sender retried after a crash) can
drop the copy; the same key keeps the outbox from holding it twice.

The words carry no citizen's personal data: windows, ticket numbers, services, staff
ids, levels and times only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .hall import HallConfig, NotifySettings, Recipient
from .ratings import level_label

DEPARTMENT_ROLES = ("head", "leader")
"""Recipients an ``[[alerts]]`` rule may name by role: the head and the leader in
charge of the event's department (from its service), as ``[[departments]]`` lists them."""


@dataclass(frozen=True, slots=True)
class Alert:
    key: str
    kind: str
    channel: str
    target: str
    subject: str
    text: str
    data: dict[str, Any]


def describe(kind: str, data: dict[str, Any]) -> tuple[str, str]:
    """(subject, text) of an alert, short enough for an SMS."""
    if kind == "rating.dissatisfied":
        level = _level(data.get("level"))
        return (
            f"Dissatisfied rating at window {data.get('window')}",
            f"Window {data.get('window')}: {data.get('label')} ({data.get('service')}) "
            f"rated {level}; clerk {data.get('clerk') or '-'}. Call back within the day.",
        )
    if kind == "ledger.overdue":
        return (
            f"Bad rating {data.get('id')} overdue",
            f"Rectification record {data.get('id')} (window {data.get('window')}, "
            f"{data.get('service')}) is {data.get('state')} past its deadline {data.get('due')}.",
        )
    if kind == "case.overdue":
        return (
            f"Red light at window {data.get('window')}",
            f"Window {data.get('window')}: a {data.get('service')} case is past its "
            f"{data.get('limit_minutes')} minute limit.",
        )
    if kind == "casefile.light":
        return (
            f"Case {data.get('number')} is {data.get('light')}",
            f"Case {data.get('number')} ({data.get('service')}) turned {data.get('light')}; "
            f"due {data.get('due_on')}.",
        )
    if kind == "queue.unattended":
        return (
            f"Queue {data.get('queue')} has no open window",
            f"Queue {data.get('queue')}: {data.get('waiting')} waiting, the first for "
            f"{data.get('waited_minutes')} min, and no window serving it is open.",
        )
    if kind == "reminder.raised":
        return (
            f"Talk reminder: {data.get('subject_kind')} {data.get('subject')}",
            f"{data.get('subject_kind')} {data.get('subject')}: satisfaction "
            f"{_pct(data.get('rate'))} in {data.get('period')} ({data.get('satisfied')} of "
            f"{data.get('rated')} rated), under {_pct(data.get('threshold'))}. "
            "Hold the talk reminder and sign it off.",
        )
    if kind == "accountability.raised":
        return (
            f"Accountability: {data.get('subject_kind')} {data.get('subject')}",
            f"{data.get('subject_kind')} {data.get('subject')} (department "
            f"{data.get('department') or '-'}): {data.get('reminders')} talk reminders in "
            f"{data.get('rolling_days')} days, more than {data.get('limit')}.",
        )
    if kind == "signin.locked":
        return (
            "Sign-in locked",
            f"Too many wrong PINs: {data.get('kind')} {data.get('who')} locked until "
            f"{data.get('until')}.",
        )
    return (kind, f"{kind}: {data}")


def _pct(rate: object) -> str:
    return f"{float(rate) * 100:.1f} %" if isinstance(rate, (int, float)) else "-"


def _level(value: Any) -> str:
    """The level's name from the one rating table (core/ratings.py)."""
    try:
        return level_label(int(value), "en")
    except (TypeError, ValueError):
        return "dissatisfied"


def channels_of(r: Recipient, settings: NotifySettings) -> list[tuple[str, str]]:
    """Every (channel, target) a recipient can be reached on, as the hall is set up."""
    out = []
    if r.email and settings.smtp_host:
        out.append(("email", r.email))
    if r.phone and settings.sms_url:
        out.append(("sms", r.phone))
    if r.webhook and settings.webhook_url:
        out.append(("webhook", settings.webhook_url))
    return out


def department_recipients(config: HallConfig, data: dict[str, Any]) -> dict[str, Recipient]:
    """The event's department's head and leader in charge, as recipients."""
    dept_id = data.get("department")
    if dept_id is None and isinstance(data.get("service"), str):
        service = config.service(data["service"])
        dept_id = service.department if service is not None else None
    dept = config.department(dept_id) if isinstance(dept_id, str) else None
    out: dict[str, Recipient] = {}
    if dept is None:
        return out
    for role, contact in (("head", dept.head), ("leader", dept.leader)):
        if contact is not None:
            out[role] = Recipient(
                f"{role}:{dept.id}", contact.staff, email=contact.email, phone=contact.phone
            )
    return out


def route(
    seq: int,
    kind: str,
    data: dict[str, Any],
    settings: NotifySettings,
    roles: dict[str, Recipient] | None = None,
) -> list[Alert]:
    """The alerts for one event: each rule's recipients, named or by department role."""
    subject, text = describe(kind, data)
    alerts: dict[str, Alert] = {}
    for rule in settings.alerts:
        if rule.on != kind:
            continue
        for rid in rule.to:
            r = settings.recipient(rid) or (roles or {}).get(rid)
            if r is None:
                continue
            for channel, target in channels_of(r, settings):
                if rule.channels and channel not in rule.channels:
                    continue
                key = f"{seq}:{r.id}:{channel}"
                alerts[key] = Alert(key, kind, channel, target, subject, text, dict(data))
    return list(alerts.values())


def mask(channel: str, target: str) -> str:
    """A recipient's address as views show it: enough to recognise, not to copy."""
    if channel == "sms" and len(target) > 7:
        return target[:3] + "*" * (len(target) - 7) + target[-4:]
    if channel == "email" and "@" in target:
        name, _, domain = target.partition("@")
        return name[:1] + "***@" + domain
    return target
