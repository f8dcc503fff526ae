import csv
import datetime as dt
import json
import random

import pytest
from django.core.management import call_command

from kruzhok.risk.backtest import Report, read_canonical, run_backtest


def write_canonical(folder, *, n=300, seed=0):
    rng = random.Random(seed)
    enrollments, events = [], []
    for i in range(n):
        start = dt.date(2025, 9, 1) + dt.timedelta(days=rng.choice([0, 60, 120, 180]))
        drops = rng.random() < 0.3
        end_day = rng.randrange(40, 150) if drops else 200
        fade = end_day - 60 if drops else 999
        enrollments.append(
            {
                "enrollment_id": f"e{i}",
                "student_id": f"s{i}",
                "course_id": f"c{i % 3}",
                "group_id": f"g{i % 12}",
                "start_date": start.isoformat(),
                "end_date": "",
                "outcome": "dropped" if drops else "completed",
                "outcome_date": (start + dt.timedelta(days=end_day)).isoformat(),
                "static_level": rng.choice(["A", "B"]),
            }
        )
        for week in range(end_day // 7):
            day = week * 7
            attended = rng.random() < (0.3 if day >= fade else 0.9)
            kind = "lesson_attended" if attended else "lesson_missed"
            events.append(
                {"enrollment_id": f"e{i}", "date": (start + dt.timedelta(days=day)).isoformat(), "kind": kind}
            )
    events.append({"enrollment_id": "e0", "date": "2025-09-02", "kind": "teleport"})
    events.append({"enrollment_id": "e0", "date": "not-a-date", "kind": "lesson_attended"})
    for name, rows in (("enrollments.csv", enrollments), ("events.csv", events)):
        with open(folder / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(
                handle, fieldnames=list(rows[0].keys()) + (["value", "text"] if name == "events.csv" else [])
            )
            writer.writeheader()
            writer.writerows(rows)


def test_the_backtest_reports_every_figure_for_the_model_and_both_baselines(tmp_path):
    write_canonical(tmp_path)
    report = Report()
    data = read_canonical(tmp_path / "enrollments.csv", tmp_path / "events.csv", report)
    assert report.unknown_kinds == {"teleport": 1}
    assert any("line" in p and "events.csv" in p for p in report.problems)
    results = run_backtest(data, as_of_days=[28, 56])
    assert [r["as_of_day"] for r in results] == [28, 56]
    for entry in results:
        for figures in (entry, entry["baselines"]["logistic_regression"], entry["baselines"]["absence_rule"]):
            for key in (
                "roc_auc",
                "pr_auc",
                "brier",
                "ece",
                "precision_at_10",
                "lead_time_days",
                "alerts_per_teacher_week",
            ):
                assert key in figures
    # By day 56 most leavers have begun to fade, so the signal must be found.
    assert results[1]["roc_auc"] > 0.65


@pytest.mark.django_db
def test_the_command_writes_the_json_list(tmp_path, capsys):
    write_canonical(tmp_path, n=200)
    out = tmp_path / "out.json"
    call_command(
        "risk_backtest",
        enrollments=str(tmp_path / "enrollments.csv"),
        events=str(tmp_path / "events.csv"),
        as_of_days="28",
        json_out=str(out),
    )
    results = json.loads(out.read_text())
    assert results[0]["as_of_day"] == 28 and "baselines" in results[0]
    assert "unknown event kind 'teleport'" in capsys.readouterr().err
