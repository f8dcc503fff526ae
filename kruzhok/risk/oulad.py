"""OULAD (Kuzilek et al. 2017, CC BY 4.0) → the canonical backtest format. Reads the published tables
where they lie (../shared/data/oulad); never copies them into the project.

Module start = day 0 of a presentation; presentations become dates ("2013B" → 1 Feb 2013, "2013J" →
1 Oct 2013). Assessments become homework events: `homework_submitted` (value = days late, negative =
early) and `grade` (value = score) on the submission day, and `homework_missed` on the due day when
nothing was in by then. A withdrawal (date_unregistration) is a dropout on that day; Pass, Fail and
Distinction complete at the end of the presentation.
"""

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

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


def convert(src: Path, out: Path) -> dict[str, int]:
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
    graded = pd.DataFrame(
        {"enrollment_id": sub["enrollment_id"], "date": sub["date"], "kind": "grade", "value": sub["score"]}
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
    events["text"] = ""
    events.to_csv(out / "events.csv", index=False)
    return {"enrollments": len(enr), "events": len(events)}
