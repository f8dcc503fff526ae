"""Plain-Russian reasons with the numbers behind them, from a model's per-prediction contributions."""

import math

import numpy as np


def plural(n: int, one: str, few: str, many: str) -> str:
    n = abs(int(n))
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def _pct(value: float) -> str:
    return f"{round(value * 100)} %"


def _num(value: float) -> str:
    return f"{value:.1f}".replace(".", ",").removesuffix(",0")


def _days_text(days: int) -> str:
    if days >= 14 and days % 7 in (0, 1, 6):
        weeks = round(days / 7)
        return f"{weeks} {plural(weeks, 'неделю', 'недели', 'недель')}"
    return f"{days} {plural(days, 'день', 'дня', 'дней')}"


def _ok(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def reason_text(feature: str, row: dict) -> str | None:
    """One sentence for a signal, or None when the signal is not worth saying in words."""
    v = row.get(feature)
    if not _ok(v):
        return None
    if feature == "absent_run" and v >= 2:
        n = int(v)
        return f"пропустил {n} {plural(n, 'занятие', 'занятия', 'занятий')} подряд"
    if feature == "unexcused_4w" and v >= 1:
        n = int(v)
        return f"{n} {plural(n, 'пропуск', 'пропуска', 'пропусков')} без уважительной причины за 4 недели"
    if feature in ("missed_last4", "absent_run", "unexcused_4w") and (row.get("missed_last4") or 0) >= 1:
        missed, total = int(row["missed_last4"]), int(row.get("lessons_last4") or 0)
        tail = "последнего занятия" if total == 1 else "последних занятий"
        return f"пропустил {missed} из {total} {tail}"
    if feature == "days_since_attended" and v >= 8:
        return f"не был {_days_text(int(v))}"
    if feature in ("att_drop", "att_rate_4w", "att_rate_2w", "att_rate_8w", "att_baseline"):
        base, now = row.get("att_baseline"), row.get("att_rate_4w")
        if _ok(base) and _ok(now) and base - now >= 0.1:
            return f"посещаемость упала с {_pct(base)} до {_pct(now)}"
        if _ok(now) and now < 0.75:
            return f"посещаемость за 4 недели {_pct(now)}"
        return None
    if feature == "late_last4" and v >= 2:
        return f"опоздал на {int(v)} из {int(row.get('lessons_last4') or 0)} последних занятий"
    if feature in ("tenure_days", "first_two_months") and row.get("tenure_days", 999) < 61:
        d = int(row["tenure_days"])
        return f"занимается всего {d} {plural(d, 'день', 'дня', 'дней')}: первые два месяца самые рискованные"
    if feature in ("group_trend", "group_att_4w"):
        now, trend = row.get("group_att_4w"), row.get("group_trend")
        if _ok(now) and _ok(trend) and trend <= -0.1:
            return f"посещаемость группы упала с {_pct(now - trend)} до {_pct(now)}"
        return None
    if feature == "peers_left_30d" and v >= 1:
        n = int(v)
        return f"из группы за месяц {plural(n, 'ушёл', 'ушли', 'ушли')} {n} {plural(n, 'ребёнок', 'ребёнка', 'детей')}"
    if feature == "siblings_left_60d" and v >= 1:
        return "брат или сестра недавно ушли из кружка"
    if feature == "age_outside_range" and v >= 0.5:
        years = int(row.get("age_years") or 0)
        return f"возраст {years} {plural(years, 'год', 'года', 'лет')} вне возрастного диапазона курса"
    if feature in ("hw_missed_28d", "hw_missed", "hw_done_share") and (row.get("hw_missed_28d") or 0) >= 1:
        n = int(row["hw_missed_28d"])
        return (
            f"не сдал {n} {plural(n, 'домашнее задание', 'домашних задания', 'домашних заданий')} за 4 недели"
        )
    if feature in ("hw_score_trend", "hw_score_last", "hw_score_mean"):
        mean, last = row.get("hw_score_mean"), row.get("hw_score_last")
        if _ok(mean) and _ok(last) and mean - last >= 0.1 * max(abs(mean), 1):
            return f"оценки за домашние задания упали с {_num(mean)} до {_num(last)}"
        return None
    if feature == "days_since_activity" and v >= 14:
        return f"никакой активности {_days_text(int(v))}"
    if feature == "renewal_missed" and v >= 1:
        ended = row.get("sub_days_to_end")
        if _ok(ended) and ended < 0:
            return f"абонемент закончился {_days_text(int(-ended))} назад и не продлён"
        return "абонемент закончился и не продлён"
    if feature == "sub_days_to_end" and _ok(v) and 0 <= v <= 7:
        return f"абонемент заканчивается через {_days_text(int(v))}"
    if feature == "sub_lessons_left" and v <= 1:
        n = int(v)
        return f"на абонементе {n} {plural(n, 'занятие', 'занятия', 'занятий')}"
    if feature == "frozen_now" and v >= 1:
        return "абонемент заморожен"
    if feature == "debt" and v >= 1:
        return f"долг {round(v):,} ₽".replace(",", " ")
    if feature in ("feedback_low_90d", "feedback_last") and (row.get("feedback_low_90d") or 0) >= 1:
        n = int(row["feedback_low_90d"])
        return f"{n} {plural(n, 'низкая оценка', 'низкие оценки', 'низких оценок')} в отзывах за 3 месяца"
    if feature == "xp_streak_broken" and v >= 1:
        return "серия из трёх недель с баллами прервалась"
    if feature == "xp_pace_change" and v < 0 and (row.get("xp_28d") or 0) >= 0:
        before = (row.get("xp_28d") or 0) - v
        return f"баллов за 4 недели {int(row.get('xp_28d') or 0)} вместо {int(before)}"
    if feature == "holiday_days_next_14" and v >= 3:
        return f"впереди каникулы: {int(v)} {plural(int(v), 'день', 'дня', 'дней')}"
    return None


def top_factors(
    names: list[str], values: np.ndarray, contributions: np.ndarray, *, limit: int = 3
) -> list[dict]:
    """The strongest risk-raising signals of one row with their text; duplicates of a sentence merged."""
    row = {name: (None if np.isnan(values[i]) else float(values[i])) for i, name in enumerate(names)}
    order = np.argsort(-contributions[: len(names)])
    factors, seen = [], set()
    for i in order:
        contribution = float(contributions[i])
        if contribution <= 0.02:
            break
        text = reason_text(names[i], row)
        if not text or text in seen:
            continue
        seen.add(text)
        value = row[names[i]]
        factors.append(
            {
                "feature": names[i],
                "value": None if value is None else round(value, 3),
                "contribution": round(contribution, 3),
                "text": text,
            }
        )
        if len(factors) >= limit:
            break
    return factors
