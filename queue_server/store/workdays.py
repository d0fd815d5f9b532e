"""The working-day calendar in the database: loaded per year, read as a whole.

The hall admin loads each year's official calendar (``hallq calendar load FILE``); every
server process of the hall reads the same rows, so due dates agree across processes.
Loading a year again replaces it whole (a corrected notice), in one transaction.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.engine import Connection

from ..core.calendar import WorkCalendar, YearCalendar
from ..core.casefile import local_day
from ..core.hall import HallConfig
from . import schema as s


def load_year(conn: Connection, year: YearCalendar, source: str, now: dt.datetime) -> None:
    conn.execute(delete(s.calendar_days).where(s.calendar_days.c.year == year.year))
    conn.execute(delete(s.calendar_years).where(s.calendar_years.c.year == year.year))
    conn.execute(
        insert(s.calendar_years), [{"year": year.year, "source": source[-256:], "loaded_at": now}]
    )
    rows = [
        {"day": d, "year": year.year, "kind": "holiday", "name": (n or "")[:64]}
        for d, n in year.holidays.items()
    ] + [
        {"day": d, "year": year.year, "kind": "workday", "name": (n or "")[:64]}
        for d, n in year.workdays.items()
    ]
    if rows:
        conn.execute(insert(s.calendar_days), rows)


def read_calendar(conn: Connection) -> WorkCalendar:
    years = {y: YearCalendar(y, {}, {}) for (y,) in conn.execute(select(s.calendar_years.c.year))}
    for day, year, kind, name in conn.execute(
        select(
            s.calendar_days.c.day,
            s.calendar_days.c.year,
            s.calendar_days.c.kind,
            s.calendar_days.c.name,
        )
    ):
        if year in years:
            (years[year].holidays if kind == "holiday" else years[year].workdays)[day] = name
    return WorkCalendar(list(years.values()))


def loaded_years(conn: Connection) -> list[int]:
    return sorted(y for (y,) in conn.execute(select(s.calendar_years.c.year)))


def calendar_warnings(engine: Engine, config: HallConfig, now: dt.datetime) -> list[str]:
    """Located warnings for the years a hall needs and has not loaded: this one, and in
    December the next (promised cases accepted then fall due in January)."""
    today = local_day(now, config.tz)
    with engine.connect() as conn:
        have = set(loaded_years(conn))
    needed = [today.year] + ([today.year + 1] if today.month == 12 else [])
    return [
        f"calendar.{year}: no working-day calendar loaded for {year}; due dates of promised "
        "cases cannot be counted (hallq calendar load FILE)"
        for year in needed
        if year not in have
    ]
