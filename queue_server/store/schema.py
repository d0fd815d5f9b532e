"""The database tables, in SQLAlchemy Core.

One schema for SQLite and PostgreSQL. Times are stored as UTC (naive on SQLite, where
the driver has no zones) and always come back timezone-aware, so rules never compare a
local time with a UTC one. Alembic migrations in ``queue_server/store/migrations`` create
and change these tables; ``metadata`` here is what they are checked against.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from ..core import rules

metadata = MetaData()


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


FILED_CLASS_SQL = (
    f"CASE WHEN priority IS NULL THEN {rules.ORDINARY_CLASS} "
    f"WHEN priority = '{rules.APPOINTMENT}' THEN {rules.APPOINTMENT_CLASS} "
    f"ELSE {rules.PRIORITY_CLASS} END"
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("day", Date, nullable=False),
    # The prefix printed on the ticket (its issuing queue); it never changes, while
    # ``queue`` follows transfers.
    Column("prefix", String(4), nullable=False),
    Column("number", Integer, nullable=False),
    Column("queue", String(4), nullable=False),
    Column("service_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("priority", String(16)),
    # ``rules.filed_class`` in SQL, computed by the database itself (migration 0016), so
    # no insert can file a ticket under the wrong class. The property test of the call
    # order (tests/queue_server/test_callorder.py) checks it against the rule.
    Column("call_class", SmallInteger, Computed(FILED_CLASS_SQL)),
    Column("appointment_code", String(32)),
    Column("appointment_at", UTCDateTime),
    Column("language", String(8), nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    # The time the ticket's place in line is judged by; transfers keep it.
    Column("sort_at", UTCDateTime, nullable=False),
    Column("window", Integer),
    Column("target_window", Integer),
    Column("recalls", Integer, nullable=False, default=0),
    Column("transfers", Integer, nullable=False, default=0),
    Column("called_at", UTCDateTime),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("no_show_at", UTCDateTime),
    # Unguessable key of the citizen's phone page; never put in broadcast events.
    Column("token", String(64), nullable=False, unique=True),
    # The salted hash of an ID card read at the kiosk (never the number): the per-person
    # daily cap against ticket touts. Erased once its day is over (``HallOps.prune``).
    Column("person", String(64)),
    UniqueConstraint("day", "prefix", "number", name="uq_ticket_number"),
)
# Today's line (migration 0012): the day first, so tickets left waiting on earlier days
# are never read by an issue or a call.
Index(
    "ix_tickets_day_waiting",
    tickets.c.day,
    tickets.c.status,
    tickets.c.queue,
    tickets.c.sort_at,
)
# call.next (migration 0016): per queue and class, the first ticket is one index seek;
# tickets sent to one window are found by the window.
Index(
    "ix_tickets_call",
    tickets.c.day,
    tickets.c.status,
    tickets.c.target_window,
    tickets.c.queue,
    tickets.c.call_class,
    tickets.c.sort_at,
    tickets.c.id,
)
Index("ix_tickets_day_service", tickets.c.day, tickets.c.service_id)
Index("ix_tickets_done", tickets.c.queue, tickets.c.finished_at)
Index("ix_tickets_person", tickets.c.day, tickets.c.service_id, tickets.c.person)
# The display's recent calls (snapshot): today's called tickets, newest first.
Index("ix_tickets_called", tickets.c.day, tickets.c.called_at)
# The estimate's arrival rate (migration 0019): a group's tickets issued in the last
# hour, counted from the index alone (it scanned every ticket of the day).
Index("ix_tickets_issued", tickets.c.day, tickets.c.queue, tickets.c.issued_at, tickets.c.priority)

counters = Table(
    "ticket_counters",
    metadata,
    Column("day", Date, primary_key=True),
    Column("queue", String(4), primary_key=True),
    Column("last", Integer, nullable=False),
)

windows = Table(
    "windows",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("status", String(16), nullable=False),
    Column("clerk", String(64)),
    Column("ticket_id", Integer, ForeignKey("tickets.id")),
    Column("case_id", Integer),
    Column("since", UTCDateTime),
    Column("pause_reason", String(64)),
)

cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False),
    Column("window", Integer, nullable=False),
    Column("clerk", String(64)),
    Column("service_id", String(64), nullable=False),
    Column("called_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("ended_at", UTCDateTime),
    # done | no_show | transferred | cancelled; NULL while the case is open.
    Column("outcome", String(16)),
    # Rating: pending after a finish, then rated or not_rated; NULL for cases not rated.
    Column("rating_state", String(16)),
    Column("rating", Integer),
    Column("rating_source", String(16)),
    Column("rated_at", UTCDateTime),
    Column("rating_due", UTCDateTime),
    Column("overdue_at", UTCDateTime),
    # The national fields of the rating (core/ratings.py): the citizen's comment, the
    # reasons picked for a bad rating (ids, ";"-joined), the case's department then.
    # A bad rating is followed through in ``rectifications`` (the ledger).
    Column("rating_text", Text),
    Column("rating_reasons", String(200)),
    Column("rating_department", String(64)),
)
Index("ix_cases_rating", cases.c.rating_state, cases.c.rating_due)
Index("ix_cases_ticket", cases.c.ticket_id)
# The overdue sweep runs every second and looks only at open cases: a partial index holds
# just those (a few per window), so its cost does not grow with a year of closed cases.
Index(
    "ix_cases_open",
    cases.c.called_at,
    sqlite_where=cases.c.outcome.is_(None),
    postgresql_where=cases.c.outcome.is_(None),
)
# Today's ratings per window (snapshot) and one clerk's day (clerk.today).
Index("ix_cases_rated", cases.c.rating_state, cases.c.rated_at)
Index("ix_cases_clerk", cases.c.clerk, cases.c.called_at)
# The period reports read finished cases by their end time (store/kpis.py, migration 0009).
Index("ix_cases_ended", cases.c.ended_at)

appointments = Table(
    "appointments",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("service_id", String(64), nullable=False),
    Column("start_at", UTCDateTime, nullable=False),
    Column("end_at", UTCDateTime, nullable=False),
    Column("language", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    Column("ticket_id", Integer),
    Column("created_at", UTCDateTime, nullable=False),
    # The booked citizen's ID number as the hall's salted hash (never the number): the
    # card read at a kiosk checks the appointment in. Erased at check-in or expiry.
    Column("person", String(64)),
)
Index("ix_appointments_person", appointments.c.person, appointments.c.start_at)

events = Table(
    "events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("type", String(32), nullable=False),
    Column("payload", Text, nullable=False),
)
# The hourly prune deletes old events by time (migration 0004).
Index("ix_events_at", events.c.at)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("op", String(32), nullable=False),
    Column("window", Integer),
    Column("ticket_id", Integer),
    Column("detail", Text),
)

# Period reports and the audit view read the log by time (migration 0009).
Index("ix_audit_at", audit.c.at)

idempotency = Table(
    "idempotency",
    metadata,
    Column("actor", String(64), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("op", String(32), nullable=False),
    Column("reply", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
)
Index("ix_idempotency_at", idempotency.c.at)  # the hourly prune

device_states = Table(
    "device_states",
    metadata,
    Column("device", String(64), primary_key=True),
    Column("part", String(32), primary_key=True),
    Column("state", String(32), nullable=False),
    Column("detail", Text),
    Column("at", UTCDateTime, nullable=False),
)

sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    # Who was guessed at: ``clerk:<id>`` for a clerk's (or a hall guide's) PIN. Kept in
    # the database, not in one process's memory, so every server process behind one
    # PostgreSQL counts the same wrong guesses and honours the same lock.
    Column("subject", String(96), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("locked_until", UTCDateTime),
    Column("at", UTCDateTime, nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    # The alert outbox: written in the same transaction as the event that caused it, so
    # a crash between the two cannot lose an alert; sent (and retried) by the notifier.
    Column("id", Integer, primary_key=True, autoincrement=True),
    # One alert per (cause, recipient, channel): the receiver's dedup key as well.
    Column("key", String(160), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("target", String(256), nullable=False),
    Column("payload", Text, nullable=False),
    # queued → sent, or → failed (retried at next_at) → dead after the last try
    Column("state", String(16), nullable=False),
    Column("tries", Integer, nullable=False, default=0),
    Column("next_at", UTCDateTime, nullable=False),
    Column("last_error", String(512)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
)
Index("ix_notifications_due", notifications.c.state, notifications.c.next_at)

calendar_days = Table(
    "calendar_days",
    metadata,
    # The loaded working-day calendar: only the exceptions to "weekdays work, weekends
    # are off" (holidays on any day, make-up working days on weekends), per year.
    Column("day", Date, primary_key=True),
    Column("year", Integer, nullable=False),
    Column("kind", String(8), nullable=False),  # holiday | workday
    Column("name", String(64), nullable=False),
)
Index("ix_calendar_days_year", calendar_days.c.year)

calendar_years = Table(
    "calendar_years",
    metadata,
    # A year is loaded as a whole (a year with no exception days is still "known").
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("source", String(256), nullable=False),
    Column("loaded_at", UTCDateTime, nullable=False),
)

casefiles = Table(
    "casefiles",
    metadata,
    # A promised case after the window: its number, clock and state (core/casefile.py).
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", String(50), nullable=False, unique=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False, unique=True),
    Column("case_id", Integer),  # the window's case that accepted it
    Column("service_id", String(64), nullable=False),
    Column("department", String(64), nullable=False),
    Column("window", Integer),
    Column("clerk", String(64)),
    Column("state", String(16), nullable=False),
    Column("suspended_from", String(16)),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("opened_on", Date, nullable=False),  # hall-local acceptance day
    Column("promised_days", Integer, nullable=False),  # extensions included
    # NULL while the year has no calendar: the sweeper sets it once one is loaded.
    Column("due_on", Date),
    # Finished before this day is early (core.casefile.early_before), kept with due_on.
    Column("early_before", Date),
    Column("suspended_on", Date),
    Column("suspended_days", Integer, nullable=False, default=0),
    Column("suspensions", Integer, nullable=False, default=0),
    Column("extended_days", Integer, nullable=False, default=0),
    Column("light", String(8)),  # green | yellow | red; NULL without a due day
    Column("light_at", UTCDateTime),
    Column("ready_at", UTCDateTime),  # the clock stops here (办结)
    Column("finished_on", Date),  # hall-local day it was ready or refused (the figures)
    Column("closed_at", UTCDateTime),  # delivered or refused
    Column("updated_at", UTCDateTime, nullable=False),
)
# The lights sweep reads the cases on the clock only; the office lists a department's.
Index("ix_casefiles_state", casefiles.c.state, casefiles.c.due_on)
Index("ix_casefiles_department", casefiles.c.department, casefiles.c.state)
Index("ix_casefiles_opened", casefiles.c.opened_on)  # the figures of a period

casefile_pickups = Table(
    "casefile_pickups",
    metadata,
    # A pick-up ticket (出件) taken for a ready case: the clerk who calls the ticket sees
    # the cases linked to it. One ticket per case (a later one replaces it); a ticket
    # may pick up several cases.
    Column("casefile_id", Integer, ForeignKey("casefiles.id"), primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)
Index("ix_casefile_pickups_ticket", casefile_pickups.c.ticket_id)

casefile_steps = Table(
    "casefile_steps",
    metadata,
    # Every transition of a case file, who made it and why (reason, missing materials,
    # the days granted): the case's own history, shown in casefile.get.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("casefile_id", Integer, ForeignKey("casefiles.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("op", String(16), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("from_state", String(16)),
    Column("to_state", String(16), nullable=False),
    Column("detail", Text),
)
Index("ix_casefile_steps_file", casefile_steps.c.casefile_id, casefile_steps.c.id)

casefile_counters = Table(
    "casefile_counters",
    metadata,
    Column("key", String(16), primary_key=True),
    Column("last", Integer, nullable=False),
)

estimate_records = Table(
    "estimate_records",
    metadata,
    # The wait each ticket was promised at issue, beside the wait it had (issue 15): the
    # live measure of the estimate, per queue and day, shown on /supervisor. Numbers
    # only, nothing of the citizen.
    Column("ticket_id", Integer, ForeignKey("tickets.id"), primary_key=True),
    Column("day", Date, nullable=False),
    Column("queue", String(4), nullable=False),  # the queue it was issued to
    Column("issued_at", UTCDateTime, nullable=False),
    Column("told_minutes", Integer, nullable=False),
    Column("told_low", Integer, nullable=False),
    Column("told_high", Integer, nullable=False),
    # its first call; a ticket cancelled before it stays without one (and is not counted)
    Column("called_at", UTCDateTime),
    Column("waited_s", Integer),
)
Index("ix_estimate_records_day", estimate_records.c.day, estimate_records.c.queue)

# The waiting lines' change log (migration 0019, store/lines.py): written only by
# triggers on ``tickets``; a server re-reads only the tickets changed since its last read.
line_version = Table(
    "line_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
)
line_changes = Table(
    "line_changes",
    metadata,
    Column("version", BigInteger, primary_key=True, autoincrement=False),
    Column("ticket_id", Integer, nullable=False),
    Column("token", BigInteger, nullable=False),
)


assessments = Table(
    "assessments",
    metadata,
    # One row per assessed period (核查/考核 run): written first, in the run's transaction,
    # so a period is assessed once however many processes or restarts try (migration 0009).
    Column("kind", String(8), primary_key=True),  # day | week | month
    Column("start", Date, primary_key=True),
    Column("end", Date, nullable=False),
    Column("run_at", UTCDateTime, nullable=False),
    Column("by", String(64), nullable=False),  # "clock" or who ran hallq assess
    Column("reminders", Integer, nullable=False),
    Column("summary", Text),  # JSON: subjects assessed, counted, below
)

talk_reminders = Table(
    "talk_reminders",
    metadata,
    # A talk reminder (谈话提醒): a window or clerk under the satisfaction threshold for an
    # assessment period; the department head holds the talk and signs it off. Never
    # deleted: the count of reminders in the rolling period is read from here.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject_kind", String(16), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("department", String(64)),
    Column("period_kind", String(8), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("rated", Integer, nullable=False),
    Column("satisfied", Integer, nullable=False),
    Column("not_rated", Integer, nullable=False),
    Column("threshold", String(8), nullable=False),  # as configured then, e.g. "0.8"
    Column("state", String(8), nullable=False),  # open | done
    Column("created_at", UTCDateTime, nullable=False),
    Column("done_at", UTCDateTime),
    Column("done_by", String(64)),
    Column("note", Text),  # what the talk was about (staff text, never in events or logs)
    UniqueConstraint(
        "subject_kind", "subject", "period_kind", "period_start", name="uq_talk_reminder"
    ),
)
Index("ix_talk_reminders_department", talk_reminders.c.department, talk_reminders.c.state)
Index(
    "ix_talk_reminders_subject",
    talk_reminders.c.subject_kind,
    talk_reminders.c.subject,
    talk_reminders.c.period_end,
)

accountability_records = Table(
    "accountability_records",
    metadata,
    # An accountability record (问责): a subject with more than ``reminder_limit`` talk
    # reminders in the rolling period, raised by the reminder that passed the limit and
    # escalated to the department's leader in charge (the alert outbox).
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reminder_id", Integer, ForeignKey("talk_reminders.id"), nullable=False, unique=True),
    Column("subject_kind", String(16), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("department", String(64)),
    Column("reminders", Integer, nullable=False),
    Column("window_start", Date, nullable=False),
    Column("window_end", Date, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
Index("ix_accountability_department", accountability_records.c.department)


rectifications = Table(
    "rectifications",
    metadata,
    # The rectification ledger (差评整改台账, core/rectify.py): one record per bad rating,
    # owned by the case's department; never deleted. Its steps are rectification_steps.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, unique=True),
    Column("ticket_id", Integer, nullable=False),
    Column("department", String(64)),  # NULL only for records migrated from follow-ups
    Column("service_id", String(64), nullable=False),
    Column("window", Integer),
    Column("clerk", String(64)),
    Column("level", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("light", String(8)),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("opened_on", Date, nullable=False),  # hall-local day of the rating
    # Step deadlines in working days; NULL while the year has no calendar (swept later).
    Column("contact_due", Date),
    Column("rectify_due", Date),
    Column("callback_due", Date),
    Column("finding", String(16)),
    Column("appeal", String(16)),
    Column("contact", String(16)),
    Column("contacted_at", UTCDateTime),
    Column("rectified_at", UTCDateTime),
    Column("callback", String(16)),
    Column("callback_at", UTCDateTime),
    Column("fix_level", Integer),  # the citizen's rating of the fix, at the call-back
    # The citizen's call-back number, given with consent for this record only: erased
    # (NULL) when the record closes or at phone_until, whichever comes first.
    Column("phone", String(32)),
    Column("phone_until", UTCDateTime),
    Column("closed_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
)
Index("ix_rectifications_state", rectifications.c.state, rectifications.c.department)
Index("ix_rectifications_opened", rectifications.c.opened_on)
# The hourly erasure of call-back numbers past their retention: only rows holding one.
Index(
    "ix_rectifications_phone",
    rectifications.c.phone_until,
    sqlite_where=rectifications.c.phone.is_not(None),
    postgresql_where=rectifications.c.phone.is_not(None),
)

rectification_steps = Table(
    "rectification_steps",
    metadata,
    # Every step of a ledger record: who, what outcome, and the staff's words (what was
    # found, what was fixed). Never the citizen's phone number.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rectification_id", Integer, ForeignKey("rectifications.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("op", String(16), nullable=False),
    Column("outcome", String(16)),
    Column("actor", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("from_state", String(16)),
    Column("to_state", String(16), nullable=False),
    Column("detail", Text),
)
Index(
    "ix_rectification_steps_record",
    rectification_steps.c.rectification_id,
    rectification_steps.c.id,
)


# The daily report summary (issue 11, migration 0013; store/summaries.py). A hall-local
# day that has ended is summarized once, per window, clerk and service, so a year's report
# reads some 300 rows a day instead of replaying every case and the audit log. A day has a
# row in report_days only while its summary is true: triggers on cases, tickets and the
# window operations of the audit log delete the row of any day whose raw rows change, and
# that day is read from the raw rows until it is summarized again.
report_days = Table(
    "report_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("start_at", UTCDateTime, nullable=False),  # the day's UTC half-open interval
    Column("end_at", UTCDateTime, nullable=False),
    Column("made_at", UTCDateTime, nullable=False),
)
Index("ix_report_days_start", report_days.c.start_at)

report_summaries = Table(
    "report_summaries",
    metadata,
    Column("day", Date, primary_key=True),
    Column("dim", String(8), primary_key=True),  # window | clerk | service
    Column("key", String(64), primary_key=True),
    Column("cases", Integer, nullable=False),
    Column("served", Integer, nullable=False),
    Column("no_shows", Integer, nullable=False),
    Column("transfers", Integer, nullable=False),
    Column("recalls", Integer, nullable=False),
    Column("rated", Integer, nullable=False),
    Column("satisfied", Integer, nullable=False),
    Column("not_rated", Integer, nullable=False),
    Column("busy_ds", Integer, nullable=False),  # tenths of a second with a case
    Column("open_ds", Integer),  # window sessions opened that day (None: no session)
    Column("paused_ds", Integer),
    sqlite_with_rowid=False,  # rows kept in (day, dim, key) order: a year is read in order
)

report_durations = Table(
    "report_durations",
    metadata,
    # One row per summarized day and window, clerk, service (or demand): every case's
    # durations, sorted tenths of a second as 32-bit little-endian ints, key after key
    # (``lengths``: three counts per key), so a year is some 1,300 rows. The medians and
    # 90th percentiles of any period are taken from these exactly as from the raw rows.
    # ``demand``: per service the day's tickets by hour of issue (24 ints in ``waits``).
    Column("day", Date, primary_key=True),
    Column("dim", String(8), primary_key=True),
    Column("keys", Text, nullable=False),  # JSON list of the keys, in the blobs' order
    Column("lengths", LargeBinary, nullable=False),
    Column("waits", LargeBinary, nullable=False),
    Column("walks", LargeBinary, nullable=False),
    Column("services", LargeBinary, nullable=False),
    sqlite_with_rowid=False,
)

# Today's figures count the red case files still open (store/kpis.py): only the open
# ones are in this index, so the count does not grow with a year of finished files.
Index(
    "ix_casefiles_open_light",
    casefiles.c.light,
    sqlite_where=casefiles.c.finished_on.is_(None),
    postgresql_where=casefiles.c.finished_on.is_(None),
)

# The case-file figures of closed months (issue 11, migration 0017;
# store/casefile_summaries.py). A month of acceptance that has ended is summarized once:
# per department, window, clerk and service the counts of its *finished* case files,
# whose figures no longer move (an open file's light changes by the working day, so the
# open ones are always read from the raw rows, through ``ix_casefiles_open_opened``). A
# month has a row in casefile_months only while its summary is true: triggers on
# casefiles delete it whenever a finished file of that month is written, changed or
# deleted, and the month is read from the raw rows until it is summarized again.
casefile_months = Table(
    "casefile_months",
    metadata,
    Column("month", Date, primary_key=True),  # its first day
    Column("made_at", UTCDateTime, nullable=False),
)

casefile_summaries = Table(
    "casefile_summaries",
    metadata,
    Column("month", Date, nullable=False),
    Column("dim", String(16), nullable=False),  # department | window | clerk | service_id
    Column("key", String(64)),  # NULL: files with no window or clerk
    *(
        Column(name, Integer, nullable=False)
        for name in (
            "accepted",
            "finished",
            "on_time",
            "early",
            "late",
            "suspended",
            "extended",
            "refused",
            "unknown",
        )
    ),
)
Index("ix_casefile_summaries_month", casefile_summaries.c.month)

# The open case files of a period, counted raw beside the closed months' summaries:
# only the open ones are in this index, so a year's read does not walk finished files.
Index(
    "ix_casefiles_open_opened",
    casefiles.c.opened_on,
    sqlite_where=casefiles.c.finished_on.is_(None),
    postgresql_where=casefiles.c.finished_on.is_(None),
)
