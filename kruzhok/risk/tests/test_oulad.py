import csv
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from kruzhok.risk.backtest import activity_features, against_cohort, assessment_features
from kruzhok.risk.oulad import DERIVED_ACTIVITY, convert


def write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def fake_oulad(folder, *, derived=True):
    """Student 1: one enrolment (2013J); student 2: 2013J and again 2014J; student 3: never clicked."""
    enrolments = [(1, "2013J"), (2, "2013J"), (2, "2014J"), (3, "2013J")]
    write(
        folder / "courses.csv",
        [
            {"code_module": "AAA", "code_presentation": p, "module_presentation_length": 260}
            for p in ("2013J", "2014J")
        ],
    )
    write(
        folder / "assessments.csv",
        [
            {
                "code_module": "AAA",
                "code_presentation": p,
                "id_assessment": i,
                "assessment_type": "TMA",
                "date": 20,
                "weight": 10,
            }
            for i, p in ((1, "2013J"), (2, "2014J"))
        ],
    )
    info = {
        "gender": "F",
        "region": "Wales",
        "highest_education": "A Level",
        "imd_band": "10-20%",
        "age_band": "0-35",
        "num_of_prev_attempts": 0,
        "studied_credits": 60,
        "disability": "N",
    }
    write(
        folder / "studentInfo.csv",
        [
            {"code_module": "AAA", "code_presentation": p, "id_student": s, **info, "final_result": "Pass"}
            for s, p in enrolments
        ],
    )
    write(
        folder / "studentRegistration.csv",
        [
            {
                "code_module": "AAA",
                "code_presentation": p,
                "id_student": s,
                "date_registration": -10,
                "date_unregistration": "",
            }
            for s, p in enrolments
        ],
    )
    write(
        folder / "studentAssessment.csv",
        [{"id_assessment": 1, "id_student": 1, "date_submitted": 18, "is_banked": 0, "score": 80}],
    )
    if derived:
        (folder / DERIVED_ACTIVITY).mkdir()
        # Cumulative totals (clicks, active days) of students 1 and 2 at days 14, 28, 42, 56.
        cumulative = {1: [(10, 3), (30, 7), (30, 7), (45, 9)], 2: [(5, 1), (6, 2), (9, 3), (9, 3)]}
        for i, week in enumerate((2, 4, 6, 8)):
            write(
                folder / DERIVED_ACTIVITY / f"features_week_{week}.csv",
                [
                    {
                        "id_student": s,
                        "total_clicks": c[i][0],
                        "active_days": c[i][1],
                        "Week": week,
                        "Days": 7 * week,
                    }
                    for s, c in cumulative.items()
                ],
            )


def test_click_windows_become_activity_events_dated_when_the_window_closes(tmp_path):
    src, out = tmp_path / "oulad", tmp_path / "out"
    src.mkdir()
    fake_oulad(src)
    convert(src, out)
    events = pd.read_csv(out / "events.csv", keep_default_na=False)
    clicks = events[(events["kind"] == "activity") & (events["text"] == "")]
    one = clicks[clicks["enrollment_id"] == "AAA-2013J-1"]
    start = dt.date(2013, 10, 1)
    # Windows of the cumulative totals; the empty third window (30 → 30) gives no event.
    assert list(zip(one["date"], one["value"].astype(float), strict=True)) == [
        ((start + dt.timedelta(days=14)).isoformat(), 10.0),
        ((start + dt.timedelta(days=28)).isoformat(), 20.0),
        ((start + dt.timedelta(days=56)).isoformat(), 15.0),
    ]
    days = events[(events["enrollment_id"] == "AAA-2013J-1") & (events["text"] == "active_days")]
    assert days["value"].astype(float).tolist() == [3.0, 4.0, 2.0]

    enr = pd.read_csv(out / "enrollments.csv").set_index("enrollment_id")
    # The retake in 2014J cannot be told apart from the 2013J attempt: no activity, marked unknown.
    assert enr.loc["AAA-2014J-2", "static_activity_known"] == 0
    assert not (events["enrollment_id"] == "AAA-2014J-2").loc[events["kind"] == "activity"].any()
    # Judged from what was known at its start, the first attempt was the only enrolment.
    assert enr.loc["AAA-2013J-2", "static_activity_known"] == 1
    # A student with one enrolment and no clicks is known to be inactive, not unknown.
    assert enr.loc["AAA-2013J-3", "static_activity_known"] == 1
    assert not ((events["enrollment_id"] == "AAA-2013J-3") & (events["kind"] == "activity")).any()


def test_without_derived_activity_there_are_no_activity_events(tmp_path):
    src, out = tmp_path / "oulad", tmp_path / "out"
    src.mkdir()
    fake_oulad(src, derived=False)
    counts = convert(src, out, derived_activity=False)
    events = pd.read_csv(out / "events.csv")
    assert counts["activity_events"] == 0 and "activity" not in set(events["kind"])
    assert "static_activity_known" not in pd.read_csv(out / "enrollments.csv").columns


def test_the_command_names_the_flag_when_the_derived_files_are_missing(tmp_path):
    src = tmp_path / "oulad"
    src.mkdir()
    fake_oulad(src, derived=False)
    with pytest.raises(CommandError, match="--no-derived-activity"):
        call_command("risk_oulad_convert", src=str(src), out=str(tmp_path / "out"))
    call_command("risk_oulad_convert", src=str(src), out=str(tmp_path / "out"), no_derived_activity=True)
    assert (tmp_path / "out" / "events.csv").exists()


def test_the_command_explains_unreadable_input(tmp_path):
    with pytest.raises(CommandError, match="cannot read OULAD"):
        call_command(
            "risk_oulad_convert",
            src=str(tmp_path / "nowhere"),
            out=str(tmp_path / "o"),
            no_derived_activity=True,
        )


def activity(rows):
    return pd.DataFrame(rows, columns=["enrollment_id", "day", "kind", "value", "text"])


def test_activity_of_a_window_closing_after_the_as_of_day_is_not_seen():
    rows = pd.DataFrame({"started": [0, 0]}, index=[10, 11])
    events = activity(
        [
            (10, 14, "activity", 50.0, ""),
            (10, 28, "activity", 500.0, ""),  # closes on day 28
            (10, 28, "activity", 9.0, "active_days"),
            (11, 3, "activity", np.nan, ""),  # no amount: counts as 1
            (11, 20, "homework_submitted", 0.0, ""),
        ]
    )
    before = activity_features(events, rows, 27)
    assert before.loc[10, "act_amount_total"] == 50.0
    assert before.loc[10, "act_days_since"] == 13.0
    on_the_day = activity_features(events, rows, 28)
    assert on_the_day.loc[10, "act_amount_total"] == 550.0
    assert on_the_day.loc[10, "act_amount_14d"] == 500.0
    assert on_the_day.loc[10, "act_days_28d"] == 9.0
    assert on_the_day.loc[11, "act_amount_total"] == 1.0
    assert on_the_day.loc[11, "act_days_since"] == 25.0


def test_without_any_activity_events_there_are_no_activity_signals():
    rows = pd.DataFrame({"started": [0]}, index=[1])
    events = activity([(1, 5, "homework_submitted", 0.0, "")])
    assert activity_features(events, rows, 28).columns.empty


def test_activity_is_compared_within_the_cohort_only():
    X = pd.DataFrame({"act_amount_28d": [10.0, 20.0, 1000.0, 3000.0]}, index=[1, 2, 3, 4])
    cohort = pd.Series(["a", "a", "b", "b"], index=X.index)
    out = against_cohort(X, cohort, ["act_amount_28d"])
    # Low in a busy course and low in a quiet one rank the same.
    assert out["act_amount_28d_rank"].tolist() == [0.5, 1.0, 0.5, 1.0]
    assert out.loc[1, "act_amount_28d_vs_cohort"] < 0 < out.loc[2, "act_amount_28d_vs_cohort"]


def test_grades_carry_the_assessment_weight(tmp_path):
    src, out = tmp_path / "oulad", tmp_path / "out"
    src.mkdir()
    fake_oulad(src, derived=False)
    convert(src, out, derived_activity=False)
    events = pd.read_csv(out / "events.csv", keep_default_na=False)
    grades = events[events["kind"] == "grade"]
    assert grades["text"].tolist() == ["weight=10"]
    assert not events.loc[events["kind"] != "grade", "text"].str.len().any()


def test_the_weighted_score_leaves_out_practice_and_later_grades():
    rows = pd.DataFrame({"started": [0, 0, 0]}, index=[1, 2, 3])
    events = activity(
        [
            (1, 10, "grade", 40.0, "weight=10"),
            (1, 12, "grade", 100.0, "weight=0"),  # a practice quiz counts for nothing
            (1, 20, "grade", 70.0, "weight=20"),
            (1, 29, "grade", 0.0, "weight=50"),  # after the as-of day
            (2, 15, "grade", 90.0, ""),  # no weight: not in the weighted score
            (3, 15, "homework_submitted", 0.0, ""),
        ]
    )
    out = assessment_features(events, rows, 28)
    assert out.loc[1, "hw_score_weighted"] == 60.0
    assert np.isnan(out.loc[2, "hw_score_weighted"]) and np.isnan(out.loc[3, "hw_score_weighted"])
    # The grade dated day 29 counts from that day on.
    assert assessment_features(events, rows, 29).loc[1, "hw_score_weighted"] == 22.5


def test_without_weighted_grades_there_is_no_weighted_score():
    rows = pd.DataFrame({"started": [0]}, index=[1])
    events = activity([(1, 5, "grade", 80.0, "")])
    assert assessment_features(events, rows, 28).columns.empty
