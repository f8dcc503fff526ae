import pytest
from django.core.exceptions import ValidationError

from kruzhok.gamification import services
from kruzhok.gamification.models import GamificationSettings

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("fields", "code", "words"),
    [
        ({"xp_visit": -5}, "negative_xp", "не может быть отрицательным"),
        ({"daily_cap": -1}, "negative_xp", "не может быть отрицательным"),
        ({"xp_kudos": 100000}, "too_much", "не больше 1000"),
        ({"xp_visit": "10"}, "not_a_number", "целое число"),
        ({"daily_cap": 5, "xp_visit": 10}, "cap_below_visit", "меньше очков за одно посещение"),
        ({"leaderboard_top": 0}, "invalid_top", "от 1 до 20"),
        ({"payment_xp": 5}, "unknown", "Неизвестная настройка"),
    ],
)
def test_bad_rules_are_refused_with_a_clear_message(alpha, fields, code, words):
    with pytest.raises(ValidationError) as exc:
        services.gamification_settings_update(org=alpha.org, **fields)
    assert exc.value.code == code
    assert words in " ".join(exc.value.messages)
    assert not GamificationSettings.objects.filter(organization=alpha.org).exists()


def test_good_rules_are_saved(alpha):
    services.gamification_settings_update(org=alpha.org, xp_visit=20, daily_cap=0)
    rules = GamificationSettings.objects.get(organization=alpha.org)
    assert (rules.xp_visit, rules.daily_cap) == (20, 0)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"name": "Вечный", "rule": "streak", "threshold": 500}, "never_fires"),
        ({"name": "Тысяча", "rule": "count", "event": "visit", "threshold": 5000}, "never_fires"),
        ({"name": "Без события", "rule": "count", "threshold": 3}, "event_required"),
        ({"name": "", "rule": "first", "event": "visit"}, "name_required"),
        ({"name": "Цвет", "rule": "first", "event": "visit", "color": "red;<script>"}, "invalid_color"),
        ({"name": "Правило", "rule": "magic"}, "invalid_rule"),
        ({"name": "Ноль", "rule": "count", "event": "visit", "threshold": 0}, "invalid_threshold"),
    ],
)
def test_badges_that_can_never_fire_or_are_malformed_are_refused(alpha, fields, code):
    with pytest.raises(ValidationError) as exc:
        services.badge_create(org=alpha.org, **fields)
    assert exc.value.code == code


def test_badge_names_are_unique_in_an_org(alpha, beta):
    services.badge_create(org=alpha.org, name="Первый шаг", rule="first", event="visit")
    services.badge_create(org=beta.org, name="Первый шаг", rule="first", event="visit")
    with pytest.raises(ValidationError) as exc:
        services.badge_create(org=alpha.org, name="первый шаг", rule="first", event="visit")
    assert exc.value.code == "duplicate"
