"""Reasons with the numbers behind them, from a model's per-prediction contributions.

A reason is stored as a code and its numbers ({"reason": "absent_run", "params": {"n": 3}}), not as text,
and is worded when shown, so a Russian and an English reader each see their own language."""

import math

import numpy as np
from django.utils.formats import number_format
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _


def _pct(value: float) -> int:
    return round(value * 100)


def _days(days: int) -> str:
    """«3 недели» for a whole number of weeks from two weeks on, «12 дней» otherwise."""
    if days >= 14 and days % 7 in (0, 1, 6):
        weeks = round(days / 7)
        return ngettext("%(n)s неделю", "%(n)s недель", weeks) % {"n": weeks}
    return ngettext("%(n)s день", "%(n)s дней", days) % {"n": days}


def _num(value: float) -> str:
    """One decimal in the reader's notation (4,6 / 4.6), without a trailing zero."""
    return number_format(round(value, 1), decimal_pos=1).removesuffix(",0").removesuffix(".0")


def _money(value: float) -> str:
    """«4 000» in Russian (a plain space, as the rest of the product writes roubles), «4,000» in English."""
    grouped = f"{round(value):,}"
    return grouped if (get_language() or "").startswith("en") else grouped.replace(",", " ")


def _ok(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def reason(feature: str, row: dict) -> tuple[str, dict] | None:
    """The reason a signal gives, as (code, numbers), or None when the signal is not worth saying."""
    v = row.get(feature)
    if not _ok(v):
        return None
    if feature == "absent_run" and v >= 2:
        return "absent_run", {"n": int(v)}
    if feature == "unexcused_4w" and v >= 1:
        return "unexcused_4w", {"n": int(v)}
    if feature in ("missed_last4", "absent_run", "unexcused_4w") and (row.get("missed_last4") or 0) >= 1:
        return "missed_last4", {
            "missed": int(row["missed_last4"]),
            "total": int(row.get("lessons_last4") or 0),
        }
    if feature == "days_since_attended" and v >= 8:
        return "days_since_attended", {"days": int(v)}
    if feature in ("att_drop", "att_rate_4w", "att_rate_2w", "att_rate_8w", "att_baseline"):
        base, now = row.get("att_baseline"), row.get("att_rate_4w")
        if _ok(base) and _ok(now) and base - now >= 0.1:
            return "att_drop", {"before": _pct(base), "after": _pct(now)}
        if _ok(now) and now < 0.75:
            return "att_low", {"rate": _pct(now)}
        return None
    if feature == "late_last4" and v >= 2:
        return "late_last4", {"late": int(v), "total": int(row.get("lessons_last4") or 0)}
    if feature in ("tenure_days", "first_two_months") and row.get("tenure_days", 999) < 61:
        return "new", {"n": int(row["tenure_days"])}
    if feature in ("group_trend", "group_att_4w"):
        now, trend = row.get("group_att_4w"), row.get("group_trend")
        if _ok(now) and _ok(trend) and trend <= -0.1:
            return "group_drop", {"before": _pct(now - trend), "after": _pct(now)}
        return None
    if feature == "peers_left_30d" and v >= 1:
        return "peers_left", {"n": int(v)}
    if feature == "siblings_left_60d" and v >= 1:
        return "sibling_left", {}
    if feature == "age_outside_range" and v >= 0.5:
        return "age_outside_range", {"n": int(row.get("age_years") or 0)}
    if feature in ("hw_missed_28d", "hw_missed", "hw_done_share") and (row.get("hw_missed_28d") or 0) >= 1:
        return "hw_missed", {"n": int(row["hw_missed_28d"])}
    if feature in ("hw_score_trend", "hw_score_last", "hw_score_mean"):
        mean, last = row.get("hw_score_mean"), row.get("hw_score_last")
        if _ok(mean) and _ok(last) and mean - last >= 0.1 * max(abs(mean), 1):
            return "hw_grades_fell", {"before": round(mean, 1), "after": round(last, 1)}
        return None
    if feature == "days_since_activity" and v >= 14:
        return "inactive", {"days": int(v)}
    if feature == "renewal_missed" and v >= 1:
        ended = row.get("sub_days_to_end")
        if _ok(ended) and ended < 0:
            return "renewal_missed_ago", {"days": int(-ended)}
        return "renewal_missed", {}
    if feature == "sub_days_to_end" and _ok(v) and 0 <= v <= 7:
        return "sub_ends", {"days": int(v)}
    if feature == "sub_lessons_left" and v <= 1:
        return "sub_lessons_left", {"n": int(v)}
    if feature == "frozen_now" and v >= 1:
        return "frozen", {}
    if feature == "debt" and v >= 1:
        return "debt", {"amount": round(v)}
    if feature in ("feedback_low_90d", "feedback_last") and (row.get("feedback_low_90d") or 0) >= 1:
        return "feedback_low", {"n": int(row["feedback_low_90d"])}
    if feature == "xp_streak_broken" and v >= 1:
        return "xp_streak_broken", {}
    if feature == "xp_pace_change" and v < 0 and (row.get("xp_28d") or 0) >= 0:
        now = row.get("xp_28d") or 0
        return "xp_pace", {"now": int(now), "before": int(now - v)}
    if feature == "shop_quiet" and v >= 1:
        return "shop_quiet", {}
    if feature == "holiday_days_next_14" and v >= 3:
        return "holidays_ahead", {"n": int(v)}
    return None


# Each code worded in the active language; a plural takes its count from `n` (or the named number).
_WORDING = {
    "absent_run": lambda p: ngettext(
        "пропустил %(n)s занятие подряд", "пропустил %(n)s занятий подряд", p["n"]
    ),
    "unexcused_4w": lambda p: ngettext(
        "%(n)s пропуск без уважительной причины за 4 недели",
        "%(n)s пропусков без уважительной причины за 4 недели",
        p["n"],
    ),
    "missed_last4": lambda p: ngettext(
        "пропустил %(missed)s из %(total)s последнего занятия",
        "пропустил %(missed)s из %(total)s последних занятий",
        p["total"],
    ),
    "days_since_attended": lambda p: _("не был %(days)s"),
    "att_drop": lambda p: _("посещаемость упала с %(before)s %% до %(after)s %%"),
    "att_low": lambda p: _("посещаемость за 4 недели %(rate)s %%"),
    "late_last4": lambda p: _("опоздал на %(late)s из %(total)s последних занятий"),
    "new": lambda p: ngettext(
        "занимается всего %(n)s день: первые два месяца самые рискованные",
        "занимается всего %(n)s дней: первые два месяца самые рискованные",
        p["n"],
    ),
    "group_drop": lambda p: _("посещаемость группы упала с %(before)s %% до %(after)s %%"),
    "peers_left": lambda p: ngettext(
        "из группы за месяц ушёл %(n)s ребёнок", "из группы за месяц ушли %(n)s детей", p["n"]
    ),
    "sibling_left": lambda p: _("брат или сестра недавно ушли из кружка"),
    "age_outside_range": lambda p: ngettext(
        "возраст %(n)s год вне возрастного диапазона курса",
        "возраст %(n)s лет вне возрастного диапазона курса",
        p["n"],
    ),
    "hw_missed": lambda p: ngettext(
        "не сдал %(n)s домашнее задание за 4 недели", "не сдал %(n)s домашних заданий за 4 недели", p["n"]
    ),
    "hw_grades_fell": lambda p: _("оценки за домашние задания упали с %(before)s до %(after)s"),
    "inactive": lambda p: _("никакой активности %(days)s"),
    "renewal_missed_ago": lambda p: _("абонемент закончился %(days)s назад и не продлён"),
    "renewal_missed": lambda p: _("абонемент закончился и не продлён"),
    "sub_ends": lambda p: _("абонемент заканчивается через %(days)s"),
    "sub_lessons_left": lambda p: ngettext(
        "на абонементе %(n)s занятие", "на абонементе %(n)s занятий", p["n"]
    ),
    "frozen": lambda p: _("абонемент заморожен"),
    "debt": lambda p: _("долг %(amount)s ₽"),
    "feedback_low": lambda p: ngettext(
        "%(n)s низкая оценка в отзывах за 3 месяца", "%(n)s низких оценок в отзывах за 3 месяца", p["n"]
    ),
    "xp_streak_broken": lambda p: _("серия из трёх недель с баллами прервалась"),
    "xp_pace": lambda p: _("баллов за 4 недели %(now)s вместо %(before)s"),
    "shop_quiet": lambda p: _("перестал просить награды в магазине: 8 недель ни одной просьбы"),
    "holidays_ahead": lambda p: ngettext(
        "впереди каникулы: %(n)s день", "впереди каникулы: %(n)s дней", p["n"]
    ),
}


def reason_words(code: str, params: dict) -> str | None:
    """The sentence for a stored reason in the active language; None for a code this version does not know."""
    wording = _WORDING.get(code)
    if wording is None:
        return None
    shown = dict(params)
    if "days" in shown:
        shown["days"] = _days(int(shown["days"]))
    if "amount" in shown:
        shown["amount"] = _money(shown["amount"])
    if code == "hw_grades_fell":
        shown["before"], shown["after"] = _num(shown["before"]), _num(shown["after"])
    return wording(params) % shown


def reason_text(feature: str, row: dict) -> str | None:
    """One sentence for a signal in the active language, or None when the signal is not worth saying."""
    found = reason(feature, row)
    return reason_words(*found) if found else None


def factor_text(factor: dict) -> str:
    """The sentence of a stored factor. Scores saved before reasons were stored as codes carry a
    ready Russian "text" instead; that is shown as it is."""
    if not isinstance(factor, dict):
        return ""
    code, params = factor.get("reason"), factor.get("params")
    if isinstance(code, str) and isinstance(params, dict):
        try:
            words = reason_words(code, params)
        except (KeyError, TypeError, ValueError):
            words = None
        if words:
            return words
    return str(factor.get("text") or "")


def top_factors(
    names: list[str], values: np.ndarray, contributions: np.ndarray, *, limit: int = 3
) -> list[dict]:
    """The strongest risk-raising signals of one row with their reason; duplicates of a reason merged."""
    row = {name: (None if np.isnan(values[i]) else float(values[i])) for i, name in enumerate(names)}
    order = np.argsort(-contributions[: len(names)])
    factors, seen = [], set()
    for i in order:
        contribution = float(contributions[i])
        if contribution <= 0.02:
            break
        found = reason(names[i], row)
        if not found:
            continue
        code, params = found
        key = (code, tuple(sorted(params.items())))
        if key in seen:
            continue
        seen.add(key)
        value = row[names[i]]
        factors.append(
            {
                "feature": names[i],
                "value": None if value is None else round(value, 3),
                "contribution": round(contribution, 3),
                "reason": code,
                "params": params,
            }
        )
        if len(factors) >= limit:
            break
    return factors
