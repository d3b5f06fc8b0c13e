"""The line watcher's schedule (pure functions): slots, due pulls, next wake, and the plan's cost."""

from __future__ import annotations

import datetime as dt

import pytest

from nbaprops.errors import InputError
from nbaprops.ingest.watch import WatchPlan, due_pulls, event_slots, next_wake

D = dt.date(2024, 4, 25)
UTC = dt.UTC
TIP = dt.datetime(2024, 4, 25, 23, 0, tzinfo=UTC)          # 19:00 ET
PLAN = WatchPlan(cadence=dt.timedelta(hours=2), offsets=(dt.timedelta(minutes=10), dt.timedelta(minutes=90),
                                                         dt.timedelta(minutes=30)))


def t(hh: int, mm: int = 0, day: int = 25) -> dt.datetime:
    return dt.datetime(2024, 4, day, hh, mm, tzinfo=UTC)


def test_slots_are_cadence_from_the_eastern_day_start_and_offsets_before_tip() -> None:
    slots = event_slots("e1", TIP, D, PLAN)
    # 10:00 ET = 14:00Z (EDT); every 2 h until tip; T-90, T-30, T-10
    assert [(s.at, s.kind) for s in slots] == [
        (t(14), "cadence"), (t(16), "cadence"), (t(18), "cadence"), (t(20), "cadence"),
        (t(21, 30), "T-90"), (t(22), "cadence"), (t(22, 30), "T-30"), (t(22, 50), "T-10")]
    assert all(s.at < TIP for s in slots)


def test_an_offset_on_a_cadence_minute_is_one_slot_named_by_the_offset() -> None:
    slots = event_slots("e1", t(22, 0), D, PLAN)      # T-120 would be 20:00 (cadence), T-90 = 20:30
    ats = [s.at for s in slots]
    assert len(ats) == len(set(ats))
    plan = WatchPlan(cadence=dt.timedelta(hours=2), offsets=(dt.timedelta(minutes=120),))
    both = [s for s in event_slots("e1", t(22, 0), D, plan) if s.at == t(20)]
    assert [s.kind for s in both] == ["T-120"]


def test_due_pulls_collapse_missed_slots_into_one_pull_and_stop_at_tip() -> None:
    events = {"early": TIP, "late": t(2, 0, day=26)}
    due = due_pulls(events, t(19), D, PLAN, served=set())
    assert [d.event_id for d in due] == ["early", "late"]          # earliest tip first
    assert [s.at for s in due[0].slots] == [t(14), t(16), t(18)]
    assert due[0].slot.at == t(18)
    served = {("early", s.at) for s in due[0].slots}
    again = due_pulls(events, t(19), D, PLAN, served=served)
    assert [d.event_id for d in again] == ["late"]
    # at and after tip-off an event is never due, whatever it missed
    assert [d.event_id for d in due_pulls(events, TIP, D, PLAN, served=set())] == ["late"]
    assert due_pulls({"early": TIP}, t(23, 30), D, PLAN, served=set()) == []


def test_next_wake_is_the_next_unserved_slot_and_none_after_the_last_tip() -> None:
    events = {"early": TIP}
    assert next_wake(events, t(12), D, PLAN, set()) == t(14)
    assert next_wake(events, t(22, 35), D, PLAN, set()) == t(22, 50)
    assert next_wake(events, t(22, 50), D, PLAN, set()) is None       # T-10 was the last slot
    assert next_wake(events, t(23, 5), D, PLAN, set()) is None
    # no event listed yet: look again at the next cadence step, until the day ends
    assert next_wake({}, t(14, 5), D, PLAN, set()) == t(16)
    assert next_wake({}, t(3, 0, day=26), D, PLAN, set()) is None


def test_plan_cost_and_validation() -> None:
    assert WatchPlan(markets=("player_points", "player_rebounds")).cost == 2
    assert WatchPlan(books=tuple(f"b{i}" for i in range(11))).cost == 2      # one region per 10 books
    assert WatchPlan(markets=("b", "a", "a")).markets_key == "a,b"
    with pytest.raises(InputError):
        WatchPlan(offsets=(dt.timedelta(0),))
    with pytest.raises(InputError):
        WatchPlan(markets=())
    with pytest.raises(InputError):
        event_slots("e1", dt.datetime(2024, 4, 25, 23, 0), D, PLAN)   # naive tip-off


def test_watch_is_a_phase_that_runs_only_when_named() -> None:
    from nbaprops.pipeline.registry import DEFAULT_PHASE_NAMES, PHASE_NAMES, phase

    assert "watch" in PHASE_NAMES and "watch" not in DEFAULT_PHASE_NAMES
    assert phase("watch").optional and not phase("watch").skip_when_done
    assert PHASE_NAMES.index("watch") == PHASE_NAMES.index("ingest") + 1
