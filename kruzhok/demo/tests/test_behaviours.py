import datetime as dt
import random

from kruzhok.demo import behaviours as bh
from kruzhok.demo.season import Season
from kruzhok.school.models import DropReason

TODAY = dt.date(2027, 3, 15)
SEASON = Season.for_today(TODAY, 56)
WEEK = dt.timedelta(days=7)
# A group that meets every Tuesday except on the centre's holidays.
TUESDAYS = [
    d
    for d in (dt.date(2026, 9, 1) + WEEK * i for i in range(40))
    if d <= SEASON.horizon_end and not SEASON.is_closed(d)
]
PAST = [(i, d) for i, d in enumerate(TUESDAYS) if d < TODAY]


def timeline(pattern, seed=1, **fields):
    tl = bh.draw_timeline(random.Random(seed), SEASON, pattern)
    for name, value in fields.items():
        setattr(tl, name, value)
    return tl


def presence(marks) -> float:
    marks = list(marks)
    return sum(status in ("present", "late") for _, status, _ in marks) / max(1, len(marks))


def test_a_trial_that_does_not_convert_ends_in_a_dropout_after_the_trial_lessons():
    tl = timeline(bh.Pattern.TRIAL_ONLY, converts=False, trial_lessons=2, start=dt.date(2026, 9, 1))
    out = bh.settle(tl, TUESDAYS, TODAY)
    assert out.status == "dropped"
    assert out.reason in DropReason.values
    assert [e[1:3] for e in out.events] == [("", "trial"), ("trial", "dropped")]
    assert dt.date(2026, 9, 8) < out.ended_on <= dt.date(2026, 9, 12)
    assert len(list(bh.draw_marks(tl, out, PAST, SEASON))) == 2


def test_a_pause_leaves_a_gap_in_the_register_and_is_recorded_both_ways():
    tl = timeline(
        bh.Pattern.PAUSED,
        start=dt.date(2026, 9, 1),
        trial=False,
        end=None,
        spells=(),
        pause_from=dt.date(2026, 10, 6),
        pause_to=dt.date(2026, 11, 3),
    )
    out = bh.settle(tl, TUESDAYS, TODAY)
    assert [e[1:3] for e in out.events] == [("", "active"), ("active", "paused"), ("paused", "active")]
    assert out.status == "active"
    days = [TUESDAYS[i] for i, _, _ in bh.draw_marks(tl, out, PAST, SEASON)]
    assert not any(dt.date(2026, 10, 6) <= d < dt.date(2026, 11, 3) for d in days)
    assert dt.date(2026, 11, 10) in days


def test_a_fading_child_comes_less_and_less_for_weeks_and_then_leaves_for_lost_interest():
    before, fading, last_weeks = [], [], []
    for seed in range(60):
        tl = timeline(bh.Pattern.FADING, seed=seed, start=dt.date(2026, 9, 1), spells=(), trial=False)
        tl.end, tl.reason = dt.date(2027, 2, 2), DropReason.LOST_INTEREST
        out = bh.settle(tl, TUESDAYS, TODAY)
        assert out.status == "dropped" and out.reason == DropReason.LOST_INTEREST
        # Interest begins to fall weeks before leaving, not on the first day and not the week before.
        fade_from = bh.fade_start(tl)
        assert 4 * 7 <= (tl.end - fade_from).days <= 10 * 7
        marks = list(bh.draw_marks(tl, out, PAST, SEASON))
        assert all(TUESDAYS[i] < out.ended_on for i, _, _ in marks)
        for mark in marks:
            day = TUESDAYS[mark[0]]
            if day < fade_from:
                before.append(mark)
            elif day < tl.end - 2 * WEEK:
                fading.append(mark)
            else:
                last_weeks.append(mark)
    assert presence(before) > 0.75
    # Gradual: fewer visits while fading, almost none in the last two weeks.
    assert presence(last_weeks) + 0.15 < presence(fading) < presence(before) - 0.15
    assert presence(last_weeks) < 0.2


def test_holiday_dips_show_up_around_school_breaks_only():
    near, usual = [], []
    for seed in range(80):
        tl = timeline(bh.Pattern.HOLIDAY_DIPS, seed=seed, start=dt.date(2026, 9, 1), spells=(), end=None)
        out = bh.settle(tl, TUESDAYS, TODAY)
        for mark in bh.draw_marks(tl, out, PAST, SEASON):
            (near if SEASON.is_near_break(TUESDAYS[mark[0]]) else usual).append(mark)
    assert presence(usual) > 0.8
    assert presence(near) < 0.6


def test_an_illness_spell_is_mostly_excused():
    spell = (dt.date(2026, 11, 10), dt.date(2026, 11, 24))
    ill = []
    for seed in range(30):
        tl = timeline(bh.Pattern.ILLNESS, seed=seed, start=dt.date(2026, 9, 1), end=None, spells=(spell,))
        out = bh.settle(tl, TUESDAYS, TODAY)
        ill += [s for i, s, _ in bh.draw_marks(tl, out, PAST, SEASON) if spell[0] <= TUESDAYS[i] <= spell[1]]
    assert len(ill) == 30 * 3
    assert ill.count("excused") / len(ill) > 0.7
    assert "present" not in ill


def test_siblings_leave_together_on_one_day_for_one_reason():
    rng = random.Random(5)
    tls = [timeline(bh.Pattern.STEADY, seed=s) for s in (1, 2)]
    assert bh.leave_together(rng, SEASON, tls)
    assert tls[0].end == tls[1].end < TODAY
    assert tls[0].reason == tls[1].reason
    outs = [bh.settle(tl, TUESDAYS, TODAY) for tl in tls]
    assert {o.ended_on for o in outs} == {tls[0].end}


def test_a_late_joiner_starts_between_october_and_january():
    starts = {timeline(bh.Pattern.LATE_JOINER, seed=s).start for s in range(50)}
    assert min(starts) >= dt.date(2026, 10, 1)
    assert max(starts) <= dt.date(2027, 1, 31)


def test_a_timeline_is_the_same_for_the_same_seed():
    a = bh.draw_timeline(random.Random(9), SEASON)
    b = bh.draw_timeline(random.Random(9), SEASON)
    assert a == b
    assert list(bh.draw_marks(a, bh.settle(a, TUESDAYS, TODAY), PAST, SEASON)) == list(
        bh.draw_marks(b, bh.settle(b, TUESDAYS, TODAY), PAST, SEASON)
    )


def test_the_centre_is_closed_on_public_holidays_and_the_new_year_break():
    closed = [dt.date(2026, 11, 4), dt.date(2026, 12, 31), dt.date(2027, 1, 8), dt.date(2027, 2, 23)]
    assert all(SEASON.is_closed(d) for d in closed)
    assert not SEASON.is_closed(dt.date(2027, 1, 9))
    assert [name for name, _, _ in SEASON.holidays][:2] == ["День народного единства", "Новогодние каникулы"]
