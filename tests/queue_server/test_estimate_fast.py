"""The fast replay gives exactly what the replay before it gave (a frozen oracle).

Issue 15, session 4: the replay was made cheap enough to run on every issue (one replay
for a ticket issue's two figures, lines kept as sorted lists taken from the front, time
kept as whole microseconds). None of that may move a figure: on halls hypothesis makes
up (shared windows, priority tickets, appointments, tickets sent to windows, breaks,
expected arrivals, the work bound) every figure equals the oracle's
(``estimate_reference.py``, the replay as it was on main).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queue_server.config import OpeningHours
from queue_server.core import estimate, rules

from . import estimate_reference as reference
from .test_estimate import NOW, QUEUES, TZ, halls

LUNCH = OpeningHours(
    ((dt.time(8, 0), dt.time(9, 20)), (dt.time(10, 30), dt.time(18, 0))), frozenset(range(1, 8))
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[estimate.HallNow, list[rules.Candidate]]:
    """A hall (sometimes with a lunch break in the horizon, sometimes in UTC) and targets:
    waiting tickets, newcomers of each queue, a priority newcomer."""
    hall = draw(halls())
    if draw(st.booleans()):
        hall = dataclasses.replace(hall, hours={q: LUNCH for q in QUEUES})
    if draw(st.booleans()):
        # The store passes UTC; the simulator the hall's zone.
        utc = hall.now.astimezone(dt.UTC)
        hall = dataclasses.replace(hall, now=utc)
    now = hall.now
    targets = [rules.Candidate(10_000 + i, q, now) for i, q in enumerate(QUEUES)]
    targets.append(rules.Candidate(20_000, draw(st.sampled_from(QUEUES)), now, "elderly"))
    if hall.waiting:
        targets += draw(st.lists(st.sampled_from(list(hall.waiting)), max_size=3, unique=True))
    return hall, targets


def _oracle(hall: estimate.HallNow, c: rules.Candidate) -> estimate.Replay:
    return reference.replay_many(hall, [c])[0]


@settings(max_examples=300, deadline=None)
@given(cases())
def test_every_figure_is_the_oracles(case: tuple[estimate.HallNow, list[rules.Candidate]]) -> None:
    hall, targets = case
    for c in targets:
        assert estimate.replay(hall, c) == _oracle(hall, c)


@settings(max_examples=200, deadline=None)
@given(cases(), st.integers(3, 30))
def test_every_figure_is_the_oracles_past_the_work_bound(
    case: tuple[estimate.HallNow, list[rules.Candidate]],
    bound: int,
) -> None:
    """With a small bound the extrapolation (people still ahead, pace seen) is exercised."""
    hall, targets = case
    with pytest.MonkeyPatch.context() as m:
        m.setattr(estimate, "MAX_CALLS", bound)
        m.setattr(reference, "MAX_CALLS", bound)
        for c in targets:
            assert estimate.replay(hall, c) == _oracle(hall, c)


@settings(max_examples=300, deadline=None)
@given(cases(), st.sampled_from([None, "elderly"]), st.sampled_from(QUEUES))
def test_one_replay_for_an_issue_gives_both_figures_as_two_replays_did(
    case: tuple[estimate.HallNow, list[rules.Candidate]], priority: str | None, queue: str
) -> None:
    """At issue: the new ticket (waiting, last of its line) and its queue's newcomer."""
    hall, _ = case
    ticket = rules.Candidate(5_000, queue, hall.now, priority)
    hall = dataclasses.replace(hall, waiting=[*hall.waiting, ticket])
    newcomer = rules.Candidate(2**62, queue, hall.now)
    got = estimate.estimates(hall, [ticket, newcomer])
    assert got == [estimate.with_range(hall, c.queue, _oracle(hall, c)) for c in (ticket, newcomer)]


@settings(max_examples=150, deadline=None)
@given(cases(), st.integers(3, 30))
def test_one_replay_for_an_issue_past_the_work_bound(
    case: tuple[estimate.HallNow, list[rules.Candidate]],
    bound: int,
) -> None:
    hall, targets = case
    with pytest.MonkeyPatch.context() as m:
        m.setattr(estimate, "MAX_CALLS", bound)
        m.setattr(reference, "MAX_CALLS", bound)
        got = estimate.replay_each(hall, targets)
        assert got == [_oracle(hall, c) for c in targets]


def test_a_long_line_gives_the_oracles_figure() -> None:
    """2,000 waiting in one group of 36 shared windows (the cost benchmark's hall)."""
    windows = [
        estimate.WindowNow(i + 1, (QUEUES[i % 3], QUEUES[(i + 1) % 3]), NOW) for i in range(36)
    ]
    waiting = [
        rules.Candidate(i + 1, QUEUES[i % 3], NOW - dt.timedelta(seconds=2000 - i), kind)
        for i in range(2000)
        for kind in [("elderly" if i % 13 == 0 else None)]
    ]
    hall = estimate.HallNow(
        NOW,
        TZ,
        waiting,
        windows,
        {q: 8.0 for q in QUEUES},
        flows={q: estimate.Flow(0.5, 0.1) for q in QUEUES},
    )
    targets = [rules.Candidate(2**62, "A", NOW), waiting[7], waiting[1500]]
    assert estimate.replay_each(hall, targets) == [_oracle(hall, c) for c in targets]


def _listed_first(
    hall: estimate.HallNow, keep: int, targets: list[rules.Candidate]
) -> estimate.HallNow:
    """What the store reads: the first ``keep`` of each priority and ordinary line, the
    targets, everything sent or booked; the rest only counted."""
    lines: dict[tuple[str, bool], list[rules.Candidate]] = {}
    listed = []
    for c in hall.waiting:
        if c.target_window is not None or c.priority == rules.APPOINTMENT:
            listed.append(c)
        else:
            lines.setdefault((c.queue, c.priority is not None), []).append(c)
    hidden = {}
    ids = {t.id for t in targets}
    for key, line in lines.items():
        line.sort(key=lambda c: (c.sort_at, c.id))
        shown = [c for i, c in enumerate(line) if i < keep or c.id in ids]
        listed += shown
        if len(line) > len(shown):
            hidden[key] = len(line) - len(shown)
    return dataclasses.replace(hall, waiting=listed, hidden=hidden)


@settings(max_examples=300, deadline=None)
@given(cases(), st.integers(1, 12), st.sampled_from([None, "elderly"]), st.sampled_from(QUEUES))
def test_the_first_of_each_line_and_a_count_give_the_figures_of_the_whole_line(
    case: tuple[estimate.HallNow, list[rules.Candidate]],
    bound: int,
    priority: str | None,
    queue: str,
) -> None:
    """The store reads only the first MAX_CALLS of each line (no replay gets past them)
    and counts the rest: an issue's two figures and each newcomer's are unchanged."""
    hall, _ = case
    ticket = rules.Candidate(5_000, queue, hall.now, priority)
    hall = dataclasses.replace(hall, waiting=[*hall.waiting, ticket])
    targets = [ticket, rules.Candidate(2**62, queue, hall.now)]
    ghosts = [rules.Candidate(2**62 + i, q, hall.now) for i, q in enumerate(QUEUES)]
    with pytest.MonkeyPatch.context() as m:
        m.setattr(estimate, "MAX_CALLS", bound)
        m.setattr(reference, "MAX_CALLS", bound)
        brief = _listed_first(hall, bound, targets)
        assert estimate.replay_each(brief, targets) == [_oracle(hall, c) for c in targets]
        brief = _listed_first(hall, bound, [])
        assert [estimate.replay(brief, g) for g in ghosts] == [_oracle(hall, g) for g in ghosts]


@settings(max_examples=200, deadline=None)
@given(cases(), st.integers(2, 20))
def test_a_snapshots_ghosts_each_get_their_own_replays_figure_past_the_work_bound(
    case: tuple[estimate.HallNow, list[rules.Candidate]], bound: int
) -> None:
    """Every queue's newcomer in one replay (the snapshot): a ghost's pick is no step,
    so the others still get the whole work bound, as each would alone."""
    hall, _ = case
    one_group = [dataclasses.replace(w, queues=QUEUES) for w in hall.windows]
    hall = dataclasses.replace(hall, windows=one_group)
    ghosts = [rules.Candidate(2**62 + i, q, hall.now) for i, q in enumerate(QUEUES)]
    with pytest.MonkeyPatch.context() as m:
        m.setattr(estimate, "MAX_CALLS", bound)
        m.setattr(reference, "MAX_CALLS", bound)
        assert estimate.replay_each(hall, ghosts) == [_oracle(hall, g) for g in ghosts]


def _by_line(hall: estimate.HallNow) -> estimate.HallNow:
    """The hall with its waiting tickets also split into lines, as the store's memory
    gives them (``HallNow.lines``): ordinary and priority lines in call order."""
    from queue_server.store.lines import _kind

    lines: dict[tuple[str, int], list[rules.Candidate]] = {}
    for c in hall.waiting:
        lines.setdefault((c.queue, _kind(c)), []).append(c)
    for (_, kind), line in lines.items():
        if kind < 2:
            line.sort(key=lambda c: (c.sort_at, c.id))
    return dataclasses.replace(hall, lines=lines)


@settings(max_examples=300, deadline=None)
@given(cases(), st.integers(3, 400), st.data())
def test_lines_given_in_order_give_every_figure_of_the_oracle(
    case: tuple[estimate.HallNow, list[rules.Candidate]], bound: int, data: st.DataObject
) -> None:
    """Session 6: the replay takes the store's lines as they are instead of sorting
    ``waiting`` out. Ghosts (targets not waiting) still go to their place in a line,
    also one standing before waiting tickets (taken at the time of one of them)."""
    hall, targets = case
    if hall.waiting:
        before = data.draw(st.sampled_from(list(hall.waiting)))
        targets = [*targets, rules.Candidate(30_000, before.queue, before.sort_at)]
    given_lines = _by_line(hall)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(estimate, "MAX_CALLS", bound)
        m.setattr(reference, "MAX_CALLS", bound)
        for c in targets:
            assert estimate.replay(given_lines, c) == _oracle(hall, c)
        assert estimate.replay_each(given_lines, targets) == estimate.replay_each(hall, targets)
