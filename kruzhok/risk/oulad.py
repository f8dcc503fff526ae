"""OULAD (Kuzilek et al. 2017, CC BY 4.0) → the canonical backtest format. Reads the published tables
where they lie (../shared/data/oulad); never copies them into the project.

Module start = day 0 of a presentation; presentations become dates ("2013B" → 1 Feb 2013, "2013J" →
1 Oct 2013). Assessments become homework events: `homework_submitted` (value = days late, negative =
early) and `grade` (value = score, text `weight=<assessment weight>`, 0 = practice) on the submission
day, and `homework_missed` on the due day when nothing was in by then. A withdrawal (date_unregistration) is a dropout on that day; Pass, Fail and
Distinction complete at the end of the presentation.

VLE activity (optional, `derived_activity=True`): our copy lacks studentVle.csv, so `activity` events come
from the third-party cumulative aggregates in derived_weekly_features_reyquiroz/features_week_{2,4,6,8}.csv
(clicks and active days with VLE date ≤ 7k, pre-start days included). Each 2-week window becomes
`activity` events dated on the day the window closes (start + 7k, so an as-of day before it cannot see
them): value = clicks in that window (difference of the cumulative totals), and a second event with
text `active_days` whose value is the active days in the window; windows with nothing are left out. The
files are keyed by id_student only: a student with several enrolments cannot be attributed, so those
enrolments get no activity events and `static_activity_known` = 0 (instead of looking inactive); see
`attributable` for why only earlier or concurrent enrolments count.
"""

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from kruzhok.risk.backtest import GRADE_WEIGHT_TEXT

STATIC = [
    "gender",
    "region",
    "highest_education",
    "imd_band",
    "age_band",
    "num_of_prev_attempts",
    "studied_credits",
    "disability",
]


def presentation_start(code: str) -> dt.date:
    year, half = int(code[:4]), code[4]
    return dt.date(year, 2 if half == "B" else 10, 1)


DERIVED_ACTIVITY = "derived_weekly_features_reyquiroz"
ACTIVITY_WEEKS = (2, 4, 6, 8)


def attributable(enr: pd.DataFrame, start: pd.Series) -> np.ndarray:
    """Enrolments whose student had no other enrolment starting on or before theirs.

    Ambiguity is judged from what was known on the enrolment's start only: judged over the whole
    dataset, "has another enrolment" would mean, for the early presentations, "will retake the module
    later" (i.e. failed or left this one) — an answer from the future. The price: for a student who
    enrols again later, the aggregates also hold that later presentation's first weeks (documented)."""
    frame = pd.DataFrame({"student": enr["id_student"].to_numpy(), "start": start.to_numpy()})
    earlier_or_same = frame.groupby("student")["start"].rank(method="max")
    return (earlier_or_same == 1).to_numpy()


def derived_activity_events(src: Path, enr: pd.DataFrame, starts: dict[str, dt.date]) -> pd.DataFrame:
    """`activity` events from the cumulative weekly aggregates, for students with one enrolment only."""
    folder = Path(src) / DERIVED_ACTIVITY
    single = enr[enr["static_activity_known"] == 1]
    by_student = single.set_index("id_student")
    frames = []
    previous = None
    for week in ACTIVITY_WEEKS:
        table = pd.read_csv(folder / f"features_week_{week}.csv").drop_duplicates("id_student")
        # A single enrolment missing from a file had no VLE activity by that day: zero, not unknown.
        cumulative = (
            table.set_index("id_student")[["total_clicks", "active_days"]]
            .reindex(by_student.index)
            .fillna(0.0)
        )
        window = cumulative if previous is None else cumulative - previous
        # The totals are cumulative; a fall would mean the files disagree, so it is not read as activity.
        window = window.clip(lower=0)
        previous = cumulative
        day = [
            (starts[code] + dt.timedelta(days=7 * week)).isoformat()
            for code in by_student["code_presentation"]
        ]
        for column, text in (("total_clicks", ""), ("active_days", "active_days")):
            frame = pd.DataFrame(
                {
                    "enrollment_id": by_student["enrollment_id"].to_numpy(),
                    "date": day,
                    "kind": "activity",
                    "value": window[column].to_numpy(),
                    "text": text,
                }
            )
            frames.append(frame[frame["value"] > 0])
    return pd.concat(frames, ignore_index=True)


def convert(src: Path, out: Path, *, derived_activity: bool = True) -> dict[str, int]:
    src, out = Path(src), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    info = pd.read_csv(src / "studentInfo.csv")
    reg = pd.read_csv(src / "studentRegistration.csv")
    courses = pd.read_csv(src / "courses.csv")
    assessments = pd.read_csv(src / "assessments.csv")
    submissions = pd.read_csv(src / "studentAssessment.csv")

    keys = ["code_module", "code_presentation", "id_student"]
    enr = info.merge(reg, on=keys, how="left").merge(courses, on=["code_module", "code_presentation"])
    enr["enrollment_id"] = (
        enr["code_module"] + "-" + enr["code_presentation"] + "-" + enr["id_student"].astype(str)
    )
    starts = {code: presentation_start(code) for code in enr["code_presentation"].unique()}
    start = enr["code_presentation"].map(starts)
    enr["start_date"] = start.map(lambda d: d.isoformat())
    withdrew = enr["date_unregistration"].notna()
    enr["outcome"] = np.where(withdrew, "dropped", "completed")
    end_day = np.where(withdrew, enr["date_unregistration"], enr["module_presentation_length"])
    # A withdrawal before the start counts as a dropout on day 0 (never seen at any as-of day).
    end_day = np.maximum(np.nan_to_num(end_day.astype(float), nan=0), 0).astype(int)
    enr["outcome_date"] = [
        (s + dt.timedelta(days=int(d))).isoformat() for s, d in zip(start, end_day, strict=True)
    ]
    enr["end_date"] = enr["outcome_date"]
    enr["course_id"] = enr["code_module"]
    enr["group_id"] = enr["code_module"] + "-" + enr["code_presentation"]
    enr["student_id"] = enr["id_student"]
    for column in STATIC:
        enr[f"static_{column}"] = enr[column]
    enr["static_days_registered_before_start"] = -enr["date_registration"]
    # Modules differ a lot in how many leave; the module is known on day 0.
    enr["static_module"] = enr["code_module"]
    if derived_activity:
        enr["static_activity_known"] = attributable(enr, start).astype(int)
    columns = [
        "enrollment_id",
        "student_id",
        "course_id",
        "group_id",
        "start_date",
        "end_date",
        "outcome",
        "outcome_date",
    ]
    columns += [c for c in enr.columns if c.startswith("static_")]
    enr[columns].to_csv(out / "enrollments.csv", index=False)

    # Submissions: one row per (enrollment, assessment).
    sub = submissions.merge(assessments.rename(columns={"date": "due_day"}), on="id_assessment").merge(
        enr[["code_module", "code_presentation", "id_student", "enrollment_id"]],
        on=["code_module", "code_presentation", "id_student"],
    )
    sub_start = sub["code_presentation"].map(starts)
    sub_day = sub["date_submitted"].astype(int)
    sub["date"] = [
        (s + dt.timedelta(days=int(d))).isoformat() for s, d in zip(sub_start, sub_day, strict=True)
    ]
    late = sub["date_submitted"] - pd.to_numeric(sub["due_day"], errors="coerce")
    submitted = pd.DataFrame(
        {
            "enrollment_id": sub["enrollment_id"],
            "date": sub["date"],
            "kind": "homework_submitted",
            "value": late,
        }
    )
    # The weight (share of the module mark; 0 = a practice quiz) rides in the grade's text.
    graded = pd.DataFrame(
        {
            "enrollment_id": sub["enrollment_id"],
            "date": sub["date"],
            "kind": "grade",
            "value": sub["score"],
            "text": GRADE_WEIGHT_TEXT
            + pd.to_numeric(sub["weight"], errors="coerce").fillna(0).map("{:g}".format),
        }
    )

    # Missed: a TMA/CMA with a due day and nothing in by then.
    due = assessments[(assessments["assessment_type"] != "Exam") & assessments["date"].notna()]
    pairs = enr[["code_module", "code_presentation", "id_student", "enrollment_id"]].merge(
        due, on=["code_module", "code_presentation"]
    )
    on_time = submissions[["id_assessment", "id_student", "date_submitted"]]
    pairs = pairs.merge(on_time, on=["id_assessment", "id_student"], how="left")
    missed = pairs[pairs["date_submitted"].isna() | (pairs["date_submitted"] > pairs["date"])]
    miss_start = missed["code_presentation"].map(starts)
    missed_rows = pd.DataFrame(
        {
            "enrollment_id": missed["enrollment_id"],
            "date": [
                (s + dt.timedelta(days=int(d))).isoformat()
                for s, d in zip(miss_start, missed["date"], strict=True)
            ],
            "kind": "homework_missed",
            "value": np.nan,
        }
    )
    events = pd.concat([submitted, graded, missed_rows], ignore_index=True)
    events["text"] = events["text"].fillna("")
    activity = 0
    if derived_activity:
        activity_rows = derived_activity_events(src, enr, starts)
        activity = len(activity_rows)
        events = pd.concat([events, activity_rows], ignore_index=True)
    events.to_csv(out / "events.csv", index=False)
    return {"enrollments": len(enr), "events": len(events), "activity_events": activity}
