"""Backtests on any data in one canonical CSV format (docs/risk.md): the same signals and model the
product uses, side by side with a logistic regression and a simple absence rule, in one run.

enrollments.csv: enrollment_id, student_id, course_id, group_id (optional), start_date, end_date
  (optional), outcome (dropped | completed | active), outcome_date, static_* (optional, any).
events.csv: enrollment_id, date, kind, value (optional number), text (optional).

For an as-of day D each enrollment is seen on its own day start_date + D, if still enrolled then; the
label is "drops out after that day". Enrollments are grouped by start date, so every cohort is cut at
its own as-of date with RiskData.until() (nothing later leaks). The temporal split trains on enrollments
that started before the date where the latest quarter of enrollments begins and tests on the rest.
"""

import csv
import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from kruzhok.risk import features as feat
from kruzhok.risk.estimators import GBMRiskModel
from kruzhok.risk.training import SEED, evaluate

EVENT_KINDS = {
    "lesson_attended": feat.PRESENT,
    "lesson_missed": feat.ABSENT,
    "lesson_excused": feat.EXCUSED,
    "lesson_late": feat.LATE,
    "homework_submitted": None,
    "homework_missed": None,
    "grade": None,
    "activity": None,
    "payment": None,
    "subscription_ended": None,
    "renewal_missed": None,
    "feedback": None,
    "xp": None,
}
OUTCOMES = {"dropped": feat.DROPPED, "completed": feat.OTHER_END, "active": feat.OPEN}
REQUIRED_ENROLLMENT = ("enrollment_id", "student_id", "course_id", "start_date", "outcome", "outcome_date")
REQUIRED_EVENT = ("enrollment_id", "date", "kind")
ALERT_PROBABILITY = 0.5
ABSENCE_RULE_DAYS = 14


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    unknown_kinds: dict[str, int] = field(default_factory=dict)

    def add(self, text: str) -> None:
        if len(self.problems) < 200:
            self.problems.append(text)
        elif len(self.problems) == 200:
            self.problems.append("… more problems not listed")


def _date(text: str) -> int | None:
    try:
        return dt.date.fromisoformat(text.strip()).toordinal()
    except (AttributeError, ValueError):
        return None


def read_canonical(enrollments_path, events_path, report: Report) -> feat.RiskData:
    enr_rows, static_rows = [], []
    with open(enrollments_path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_ENROLLMENT if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{enrollments_path}: missing columns {missing}")
        static_cols = [c for c in reader.fieldnames if c.startswith("static_")]
        for line, row in enumerate(reader, start=2):
            start = _date(row["start_date"])
            outcome = (row.get("outcome") or "").strip()
            outcome_day = _date(row.get("outcome_date") or "")
            if start is None or outcome not in OUTCOMES or not row["enrollment_id"].strip():
                report.add(f"enrollments.csv line {line}: bad start_date, outcome or enrollment_id")
                continue
            if outcome != "active" and outcome_day is None:
                report.add(f"enrollments.csv line {line}: outcome {outcome} needs an outcome_date")
                continue
            group = (row.get("group_id") or "").strip() or f"course:{row['course_id']}"
            enr_rows.append(
                {
                    "id": row["enrollment_id"].strip(),
                    "student_id": row["student_id"].strip(),
                    "group_id": group,
                    "started": start,
                    "ended": float(outcome_day) if outcome != "active" else np.nan,
                    "end_kind": OUTCOMES[outcome],
                }
            )
            static_rows.append({"id": row["enrollment_id"].strip(), **{c: row[c] for c in static_cols}})
    enr = pd.DataFrame(enr_rows).drop_duplicates("id").set_index("id")
    # Ids become ints internally so the vectorised code stays numeric.
    codes = {key: i for i, key in enumerate(enr.index)}
    enr.index = enr.index.map(codes)
    enr["group_id"] = pd.factorize(enr["group_id"])[0]
    enr["student_id"] = pd.factorize(enr["student_id"])[0]
    enr["birth"], enr["age_min"], enr["age_max"] = np.nan, np.nan, np.nan

    static = pd.DataFrame(static_rows).drop_duplicates("id").set_index("id")
    static.index = static.index.map(codes)
    for column in static.columns:
        numeric = pd.to_numeric(static[column], errors="coerce")
        if numeric.notna().mean() >= 0.9:
            static[column] = numeric
        else:
            static[column] = pd.Categorical(static[column]).codes.astype(float)

    ev_rows = []
    with open(events_path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_EVENT if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{events_path}: missing columns {missing}")
        for line, row in enumerate(reader, start=2):
            kind = (row.get("kind") or "").strip()
            if kind not in EVENT_KINDS:
                report.unknown_kinds[kind] = report.unknown_kinds.get(kind, 0) + 1
                continue
            key = codes.get((row.get("enrollment_id") or "").strip())
            day = _date(row.get("date") or "")
            raw_value = (row.get("value") or "").strip()
            try:
                value = float(raw_value) if raw_value else np.nan
            except ValueError:
                value = None
            if key is None or day is None or value is None:
                report.add(f"events.csv line {line}: unknown enrollment, bad date or non-numeric value")
                continue
            ev_rows.append((key, day, kind, value, (row.get("text") or "").strip()[:200]))
    events = pd.DataFrame(ev_rows, columns=["enrollment_id", "day", "kind", "value", "text"])
    lesson = events["kind"].map(lambda k: EVENT_KINDS[k] is not None)
    marks = events[lesson].copy()
    marks["status"] = marks["kind"].map(EVENT_KINDS).astype(np.int8)
    marks["group_id"] = enr["group_id"].reindex(marks["enrollment_id"]).to_numpy()
    marks = marks[["enrollment_id", "group_id", "day", "status"]]
    links = pd.DataFrame(columns=["student_id", "guardian_id"])
    data = feat.RiskData(0, enr, marks, np.zeros((0, 2), dtype=np.int64), links, {"events": events})
    data.extra["static"] = static
    return data


ACTIVITY_DAYS_TEXT = "active_days"


def activity_features(events: pd.DataFrame, rows: pd.DataFrame, as_of: int) -> pd.DataFrame:
    """Signals of `activity` events (value = amount, e.g. clicks or minutes; empty = 1) for `rows` (the
    enrollments being scored, with `started`), from events dated on or before `as_of` only. A source that
    sends aggregates may give the number of active days of a period as an `activity` event with text
    `active_days`; otherwise every day with an event is an active day. Empty when the data has no
    `activity` events at all (the signals then mean nothing)."""
    ev = events[(events["kind"] == "activity") & (events["day"] <= as_of)]
    ev = ev[ev["enrollment_id"].isin(rows.index)]
    if ev.empty and not (events["kind"] == "activity").any():
        return pd.DataFrame(index=rows.index)
    n = len(rows)
    row = pd.Series(np.arange(n), index=rows.index).reindex(ev["enrollment_id"]).to_numpy()
    age = as_of - ev["day"].to_numpy()
    value = np.nan_to_num(ev["value"].to_numpy(dtype=float), nan=1.0)
    is_days = (ev["text"] == ACTIVITY_DAYS_TEXT).to_numpy()
    amount = ~is_days

    def total(mask, weights):
        return np.bincount(row[mask], weights=weights[mask], minlength=n)

    def amount_in(lo: int, hi: int) -> np.ndarray:
        return total(amount & (age >= lo) & (age < hi), value)

    if is_days.any():
        days_28 = total(is_days & (age < 28), value)
    else:
        distinct = pd.DataFrame(
            {"row": row[age < 28], "day": ev["day"].to_numpy()[age < 28]}
        ).drop_duplicates()
        days_28 = np.bincount(distinct["row"].to_numpy(dtype=np.int64), minlength=n).astype(float)
    last = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last, row, ev["day"].to_numpy(dtype=np.int64))
    started = rows["started"].to_numpy(dtype=np.int64)
    return pd.DataFrame(
        {
            "act_amount_14d": amount_in(0, 14),
            "act_amount_28d": amount_in(0, 28),
            "act_amount_prev_28d": amount_in(28, 56),
            "act_amount_total": total(amount, value),
            "act_days_28d": days_28,
            "act_days_since": np.where(last >= 0, as_of - last, as_of - started).astype(float),
        },
        index=rows.index,
    )


GRADE_WEIGHT_TEXT = "weight="


def grade_weights(text: pd.Series) -> np.ndarray:
    """The weight a `grade` event may carry in its text as `weight=<number>` (its share of the final
    mark); NaN where it carries none."""
    raw = text.where(text.str.startswith(GRADE_WEIGHT_TEXT, na=False)).str.slice(len(GRADE_WEIGHT_TEXT))
    return pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)


def assessment_features(events: pd.DataFrame, rows: pd.DataFrame, as_of: int) -> pd.DataFrame:
    """`hw_score_weighted`: the mean of the grades dated on or before `as_of`, each weighted by the
    weight its event carries (`weight=<w>` in text; weight 0 = practice, left out). The plain mean in
    `hw_score_mean` lets a practice quiz count as much as a marked assignment. Empty when no grade in
    the data carries a weight."""
    grades = events[events["kind"] == "grade"]
    weight_all = grade_weights(grades["text"])
    if not (weight_all > 0).any():
        return pd.DataFrame(index=rows.index)
    keep = (grades["day"].to_numpy() <= as_of) & grades["enrollment_id"].isin(rows.index).to_numpy()
    keep &= (np.nan_to_num(weight_all) > 0) & grades["value"].notna().to_numpy()
    n = len(rows)
    row = pd.Series(np.arange(n), index=rows.index).reindex(grades["enrollment_id"][keep]).to_numpy()
    weight = weight_all[keep]
    score = grades["value"].to_numpy(dtype=float)[keep]
    total = np.bincount(row, weights=weight, minlength=n)
    weighted = np.bincount(row, weights=weight * score, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.DataFrame(
            {"hw_score_weighted": np.where(total > 0, weighted / np.maximum(total, 1e-12), np.nan)},
            index=rows.index,
        )


def against_cohort(X: pd.DataFrame, cohort: pd.Series, columns: list[str]) -> pd.DataFrame:
    """Each activity figure as a percentile among the enrollments of the same group scored on the same day,
    and its distance from their median (log scale): amounts differ a lot between courses."""
    out = {}
    for column in columns:
        grouped = X[column].groupby(cohort)
        out[f"{column}_rank"] = grouped.rank(pct=True)
        out[f"{column}_vs_cohort"] = np.log1p(X[column]) - np.log1p(grouped.transform("median"))
    return pd.DataFrame(out, index=X.index)


def snapshot(data: feat.RiskData, day_offset: int) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """Features of every enrollment still enrolled `day_offset` days after its start, with labels."""
    frames = []
    enr = data.enrollments
    events = data.extra.get("events")
    for start, cohort in enr.groupby("started"):
        as_of = int(start) + day_offset
        ids = cohort.index[(cohort["ended"].isna()) | (cohort["ended"] > as_of)]
        if not len(ids):
            continue
        X = feat.compute_features(data, as_of=as_of, enrollment_ids=ids)
        if events is not None:
            X = X.join(activity_features(events, enr.loc[X.index], as_of))
            X = X.join(assessment_features(events, enr.loc[X.index], as_of))
        X["__as_of"] = as_of
        frames.append(X)
    X = pd.concat(frames)
    static = data.extra.get("static")
    if static is not None and len(static.columns):
        X = X.join(static, how="left")
    rows = enr.loc[X.index]
    if "act_amount_28d" in X:
        cohort = rows["group_id"].astype(str) + "@" + X["__as_of"].astype(str)
        X = X.join(against_cohort(X, cohort, ["act_amount_14d", "act_amount_28d", "act_amount_total"]))
    y = ((rows["end_kind"] == feat.DROPPED) & (rows["ended"] > X["__as_of"])).to_numpy(dtype=int)
    meta = pd.DataFrame(
        {
            "as_of": X.pop("__as_of"),
            "started": rows["started"],
            "ended": rows["ended"],
            "group": rows["group_id"],
        }
    )
    # Signals that are missing for everybody (no such events in this data) carry nothing.
    X = X.loc[:, X.notna().any()]
    return X, y, meta


def _operational(p: np.ndarray, y: np.ndarray, meta: pd.DataFrame, alert: np.ndarray) -> dict:
    caught = alert & (y == 1)
    lead = (meta["ended"].to_numpy() - meta["as_of"].to_numpy())[caught]
    teachers = max(meta["group"].nunique(), 1)
    return {
        "lead_time_days": float(np.median(lead)) if len(lead) else None,
        "alerts_per_teacher_week": round(float(alert.sum()) / teachers, 3),
    }


def run_backtest(data: feat.RiskData, *, as_of_days: list[int], split: str = "temporal") -> list[dict]:
    results = []
    for day_offset in as_of_days:
        X, y, meta = snapshot(data, day_offset)
        if split == "temporal":
            cutoff = np.quantile(meta["started"].to_numpy(), 0.75, method="higher")
            test = (meta["started"] >= cutoff).to_numpy()
        else:
            rng = np.random.default_rng(SEED)
            test = rng.uniform(size=len(y)) < 0.25
        train = ~test
        # Shallow trees with large leaves, as the product model: on OULAD the validation inside the
        # training presentations (2013B+2013J → 2014B) preferred them to 15 leaves × depth 4 at both days.
        model = GBMRiskModel(
            n_estimators=300,
            learning_rate=0.03,
            num_leaves=7,
            max_depth=3,
            min_child_samples=min(200, max(10, int(train.sum()) // 100)),
            random_state=SEED,
        )
        model.fit(X[train], y[train])
        p_model = model.predict_proba(X[test])[:, 1]
        lr = make_pipeline(
            SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(max_iter=2000)
        )
        lr.fit(X[train], y[train])
        p_lr = lr.predict_proba(X[test])[:, 1]
        absence = "days_since_activity" if "days_since_activity" in X else "days_since_attended"
        rule_days = X[absence].to_numpy(dtype=float)[test] if absence in X else np.zeros(int(test.sum()))
        rule_days = np.nan_to_num(rule_days, nan=0.0)
        p_rule = np.clip(rule_days / (2 * ABSENCE_RULE_DAYS), 0, 1)
        m_test, y_test = meta[test], y[test]
        entry = {
            "as_of_day": day_offset,
            "n_train": int(train.sum()),
            "n_test": int(test.sum()),
            "dropout_rate_test": round(float(y_test.mean()), 4),
            **evaluate(y_test, p_model),
            **_operational(p_model, y_test, m_test, p_model >= ALERT_PROBABILITY),
            "baselines": {
                "logistic_regression": {
                    **evaluate(y_test, p_lr),
                    **_operational(p_lr, y_test, m_test, p_lr >= ALERT_PROBABILITY),
                },
                "absence_rule": {
                    **evaluate(y_test, p_rule),
                    **_operational(p_rule, y_test, m_test, rule_days >= ABSENCE_RULE_DAYS),
                    "rule": f"{absence} >= {ABSENCE_RULE_DAYS}",
                },
            },
            "features": list(X.columns),
        }
        for key in ("n", "positives"):
            entry.pop(key, None)
        results.append(entry)
    return results
