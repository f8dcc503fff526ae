import datetime as dt

import pytest
from django.urls import reverse

from kruzhok.accounts.models import Membership, Role
from kruzhok.risk.models import AlertStatus, RiskAlert, RiskAlertAction, RiskScore
from kruzhok.risk.services import risk_score_compute
from kruzhok.risk.tests.helpers import fading_child
from kruzhok.testing import factories as f

AS_OF = dt.date(2026, 11, 20)


@pytest.fixture
def flagged(alpha):
    """Alpha's Маша is fading; scored on two days so the card has a history."""
    fading_child(alpha, as_of=AS_OF)
    risk_score_compute(org=alpha.org, as_of=AS_OF - dt.timedelta(days=14))
    risk_score_compute(org=alpha.org, as_of=AS_OF)
    return RiskAlert.objects.get(enrollment=alpha.enrollment)


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.TEACHER, Role.MANAGER, Role.OWNER])
def test_staff_see_the_flagged_child_with_reasons_in_the_at_risk_list(client_as, alpha, flagged, role):
    response = client_as(alpha.user(role)).get(reverse("risk:list"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Петрова-alpha Маша" in body
    assert "посещаемость упала с 100 % до 25 %" in body
    assert reverse("risk:card", args=[alpha.enrollment.pk]) in body


@pytest.mark.django_db
def test_a_manager_of_another_branch_and_another_teacher_see_nobody(client_as, alpha, flagged):
    other_manager = f.UserFactory(username="alpha_manager2")
    Membership.objects.create(user=other_manager, organization=alpha.org, role=Role.MANAGER)
    alpha.other_branch.managers.add(other_manager)
    other_teacher = f.UserFactory(username="alpha_teacher2")
    Membership.objects.create(user=other_teacher, organization=alpha.org, role=Role.TEACHER)
    for user in (other_manager, other_teacher):
        client = client_as(user)
        assert "Петрова-alpha" not in client.get(reverse("risk:list")).content.decode()
        assert client.get(reverse("risk:card", args=[alpha.enrollment.pk])).status_code == 404
        response = client.post(reverse("risk:alert_act", args=[flagged.pk]), {"do": "ack"})
        assert response.status_code == 404


@pytest.mark.django_db
def test_other_organisations_users_get_404_and_families_403(client_as, alpha, beta, flagged):
    card = reverse("risk:card", args=[alpha.enrollment.pk])
    act = reverse("risk:alert_act", args=[flagged.pk])
    for role in (Role.OWNER, Role.MANAGER, Role.TEACHER):
        client = client_as(beta.user(role))
        assert client.get(card).status_code == 404
        assert client.post(act, {"do": "ack"}).status_code == 404
        assert "Петрова-alpha" not in client.get(reverse("risk:list")).content.decode()
        assert "Петрова-alpha" not in client.get(reverse("risk:alerts")).content.decode()
    for role in (Role.PARENT, Role.STUDENT):
        client = client_as(alpha.user(role))
        assert client.get(reverse("risk:list")).status_code == 403
        assert client.get(reverse("risk:alerts")).status_code == 403
        assert client.get(reverse("risk:what_helps")).status_code == 403
        assert client.get(card).status_code == 403
        assert client.post(act, {"do": "ack"}).status_code == 403


@pytest.mark.django_db
def test_the_risk_card_shows_reasons_history_and_when_interest_began_to_fall(client_as, alpha, flagged):
    response = client_as(alpha.teacher).get(reverse("risk:card", args=[alpha.enrollment.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "<svg" in body and "polyline" in body
    assert "пропустил 3 занятия подряд" in body
    assert "Интерес начал падать примерно с" in body
    assert "Записать действие" in body


@pytest.mark.django_db
def test_the_card_promises_the_decline_line_only_when_the_chart_can_draw_it(client_as, alpha, flagged):
    scores = list(RiskScore.objects.filter(enrollment=alpha.enrollment).order_by("scored_on"))
    first, latest = scores[0], scores[-1]
    card = reverse("risk:card", args=[alpha.enrollment.pk])
    client = client_as(alpha.teacher)

    latest.decline_started_on = latest.scored_on - dt.timedelta(days=3)
    latest.save(update_fields=["decline_started_on"])
    body = client.get(card).content.decode()
    assert "spark-decline" in body and "вертикальная линия — начало спада" in body

    # A decline older than the first score has no place on the chart: the caption says so instead.
    latest.decline_started_on = first.scored_on - dt.timedelta(days=10)
    latest.save(update_fields=["decline_started_on"])
    body = client.get(card).content.decode()
    assert "spark-decline" not in body and "вертикальная линия" not in body
    assert "спад начался раньше, чем эта история" in body


@pytest.mark.django_db
def test_a_teacher_logs_a_call_and_the_alert_closes(client_as, alpha, flagged):
    client = client_as(alpha.teacher)
    response = client.post(
        reverse("risk:alert_act", args=[flagged.pk]),
        {"do": "log", "kind": "call_parent", "note": "<script>alert(1)</script> мама обещала", "close": "on"},
        follow=True,
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Действие записано, сигнал закрыт." in body
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body
    flagged.refresh_from_db()
    assert flagged.status == AlertStatus.CLOSED and flagged.closed_at
    action = RiskAlertAction.objects.get(alert=flagged)
    assert action.kind == "call_parent" and action.actor == alpha.teacher
    again = client.post(reverse("risk:alert_act", args=[flagged.pk]), {"do": "ack"})
    assert again.status_code == 400 and "Сигнал уже закрыт." in again.content.decode()


@pytest.mark.django_db
def test_acknowledge_and_not_useful(client_as, alpha, flagged):
    client = client_as(alpha.manager)
    client.post(reverse("risk:alert_act", args=[flagged.pk]), {"do": "ack"})
    flagged.refresh_from_db()
    assert flagged.status == AlertStatus.ACKNOWLEDGED and flagged.acknowledged_at
    client.post(reverse("risk:alert_act", args=[flagged.pk]), {"do": "not_useful"})
    flagged.refresh_from_db()
    assert flagged.status == AlertStatus.CLOSED and flagged.not_useful


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data, message",
    [
        ({}, "Не выбрано действие."),
        ({"do": "explode"}, "Такого действия нет."),
        ({"do": "log"}, "Выберите, что было сделано."),
        ({"do": "log", "kind": "bribe"}, "Выберите действие из списка."),
        ({"do": "log", "kind": "call_parent", "note": "x" * 5000}, "Комментарий длиннее 500 символов."),
    ],
)
def test_bad_alert_input_shows_a_clear_message(client_as, alpha, flagged, data, message):
    response = client_as(alpha.teacher).post(reverse("risk:alert_act", args=[flagged.pk]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    flagged.refresh_from_db()
    assert flagged.status == AlertStatus.OPEN


@pytest.mark.django_db
def test_the_list_filters_by_band_group_and_name_and_survives_hostile_input(client_as, alpha, flagged):
    client = client_as(alpha.owner)
    url = reverse("risk:list")
    assert "Петрова-alpha" in client.get(url, {"band": "high", "q": "петрова"}).content.decode()
    assert "Петрова-alpha" not in client.get(url, {"band": "low"}).content.decode()
    assert "Петрова-alpha" in client.get(url, {"group": alpha.group.pk}).content.decode()
    for bad in ({"band": "<script>"}, {"group": "abc"}, {"q": "x" * 5000}, {"group": "999999"}):
        response = client.get(url, bad)
        assert response.status_code == 200
        assert "<script>" not in response.content.decode().split("<main")[-1]


# ------------------------------------------------------------------ alert feed, card actions, what helps


@pytest.mark.django_db
def test_the_alert_feed_filters_by_status_and_by_mine(client_as, alpha, flagged):
    client = client_as(alpha.teacher)
    url = reverse("risk:alerts")
    body = client.get(url).content.decode()
    assert "Петрова-alpha Маша" in body and "Новый" in body
    assert "Петрова-alpha" in client.get(url, {"mine": "1"}).content.decode()
    assert "Петрова-alpha" not in client.get(url, {"status": "closed"}).content.decode()
    assert "Петрова-alpha" not in client.get(url, {"status": "escalated"}).content.decode()
    manager = client_as(alpha.manager)
    assert "Петрова-alpha" in manager.get(url).content.decode()
    assert "Петрова-alpha" not in manager.get(url, {"mine": "1"}).content.decode()
    for bad in ({"status": "<script>"}, {"mine": "x" * 5000}):
        response = client.get(url, bad)
        assert response.status_code == 200 and "<script>" not in response.content.decode().split("<main")[-1]


@pytest.mark.django_db
def test_recommended_actions_link_where_the_caller_may_act(client_as, alpha, flagged):
    alpha.guardian.phone = "+79991234567"
    alpha.guardian.save()
    card = reverse("risk:card", args=[alpha.enrollment.pk])
    teacher_body = client_as(alpha.teacher).get(card).content.decode()
    assert "Позвонить родителю" in teacher_body and 'href="tel:+79991234567"' in teacher_body
    assert "Заморозка вместо ухода" in teacher_body
    assert reverse("school:enrollment_transfer", args=[alpha.enrollment.pk]) not in teacher_body
    manager_body = client_as(alpha.manager).get(card).content.decode()
    assert reverse("school:enrollment_transfer", args=[alpha.enrollment.pk]) in manager_body
    assert reverse("school:enrollment_create", args=[alpha.student.pk]) in manager_body


@pytest.mark.django_db
def test_assign_from_the_card_and_a_stranger_is_refused(client_as, alpha, beta, flagged):
    client = client_as(alpha.teacher)
    act = reverse("risk:alert_act", args=[flagged.pk])
    response = client.post(act, {"do": "assign", "assignee": alpha.manager.pk}, follow=True)
    assert "Ответственный назначен." in response.content.decode()
    flagged.refresh_from_db()
    assert flagged.assigned_to == alpha.manager
    for bad in (
        {"do": "assign"},
        {"do": "assign", "assignee": beta.owner.pk},
        {"do": "assign", "assignee": "x"},
    ):
        response = client.post(act, bad)
        assert response.status_code == 400
        assert "Выберите сотрудника" in response.content.decode() or "который видит этого ребёнка" in (
            response.content.decode()
        )
    flagged.refresh_from_db()
    assert flagged.assigned_to == alpha.manager


@pytest.mark.django_db
def test_close_without_action_keeps_the_alert_in_the_log(client_as, alpha, flagged):
    client = client_as(alpha.teacher)
    response = client.post(reverse("risk:alert_act", args=[flagged.pk]), {"do": "close"}, follow=True)
    body = response.content.decode()
    assert "Сигнал закрыт." in body and "Открытых сигналов нет." in body
    assert "Что уже делали и чем кончилось" in body


@pytest.mark.django_db
def test_what_helps_page_roles_filters_and_settings(client_as, alpha, flagged):
    from kruzhok.risk.alerts import risk_settings_for
    from kruzhok.risk.models import AlertOutcome

    flagged.outcome = AlertOutcome.STAYED
    flagged.save()
    url = reverse("risk:what_helps")
    owner = client_as(alpha.owner)
    body = owner.get(url).content.decode()
    assert "Позвонил родителю" in body and "Данных пока мало, чтобы судить" in body
    assert "Настройки сигналов" in body
    assert (
        "Конец периода раньше начала."
        in owner.get(url, {"date_from": "2026-10-01", "date_to": "2026-09-01"}).content.decode()
    )
    assert owner.get(url, {"date_from": "not a date", "branch": "999999"}).status_code == 200
    bad = owner.post(url, {"escalation_days": "0", "outcome_days": "x" * 5000})
    assert bad.status_code == 400
    assert risk_settings_for(org=alpha.org).escalation_days == 3
    saved = owner.post(
        url,
        {"threshold_percent": "50", "weekly_budget": "5", "escalation_days": "5", "outcome_days": "45"},
        follow=True,
    )
    assert "Настройки сигналов сохранены." in saved.content.decode()
    assert (
        risk_settings_for(org=alpha.org).escalation_days,
        risk_settings_for(org=alpha.org).outcome_days,
    ) == (
        5,
        45,
    )
    manager = client_as(alpha.manager)
    page = manager.get(url).content.decode()
    assert "Позвонил родителю" in page and "Настройки сигналов" not in page
    manager.post(
        url, {"threshold_percent": "50", "weekly_budget": "5", "escalation_days": "1", "outcome_days": "7"}
    )
    assert risk_settings_for(org=alpha.org).escalation_days == 5
    assert client_as(alpha.teacher).get(url).status_code == 403


# ------------------------------------------------------------------------------- model versions, wording


@pytest.mark.django_db
def test_managers_see_which_model_scores_and_how_each_attempt_did(client_as, alpha, beta, flagged):
    from django.utils import timezone

    from kruzhok.risk.models import ModelKind, ModelVersion

    ModelVersion.objects.create(
        organization=alpha.org,
        kind=ModelKind.GBM,
        trained_at=timezone.now(),
        data_from=dt.date(2026, 3, 2),
        data_to=dt.date(2026, 11, 9),
        features=["att_rate_4w", "absent_run"],
        metrics={
            "rows": 4120,
            "positives": 61,
            "not_useful_rows": 7,
            "model": {"n": 900, "positives": 14, "roc_auc": 0.6412, "brier": 0.051},
            "prior": {"n": 900, "positives": 14, "roc_auc": 0.7033, "brier": 0.049},
        },
        library_versions={"lightgbm": "4.6.0", "scikit-learn": "1.7.2"},
        note="Не лучше базовой модели на проверке по времени; не включена",
    )
    url = reverse("risk:models")
    body = client_as(alpha.manager).get(url).content.decode()
    assert "Базовая модель (веса заданы вручную)" in body and "считает риск сейчас" in body
    assert "Обученная модель (LightGBM)" in body and "не включена" in body
    assert "Не лучше базовой модели на проверке по времени" in body
    assert "02.03.2026 — 09.11.2026" in body
    assert "0,641" in body and "0,703" in body  # Russian decimals
    assert "4120, из них уходов: 61" in body and "не по делу» с повышенным весом: 7" in body
    assert "lightgbm 4.6.0" in body
    assert reverse("risk:models") in client_as(alpha.manager).get(reverse("risk:list")).content.decode()

    owner = client_as(alpha.owner)
    owner.post("/i18n/setlang/", {"language": "en", "next": url})  # the language selector
    english = owner.get(url).content.decode()
    assert "Not better than the baseline model on the time-based check; not switched on" in english
    assert "Baseline model (hand-set weights)" in english and "0.641" in english
    owner.post("/i18n/setlang/", {"language": "ru", "next": url})
    assert client_as(alpha.teacher).get(url).status_code == 403
    assert reverse("risk:models") not in client_as(alpha.teacher).get(reverse("risk:list")).content.decode()
    assert client_as(alpha.parent).get(url).status_code == 403
    assert "0.6412" not in client_as(beta.owner).get(url).content.decode()


@pytest.mark.django_db
def test_an_alert_raised_by_a_sharp_rise_says_so(client_as, alpha, flagged):
    flagged.reason = "jump"
    flagged.save(update_fields=["reason"])
    client = client_as(alpha.teacher)
    assert (
        "риск резко вырос за неделю"
        in client.get(reverse("risk:card", args=[alpha.enrollment.pk])).content.decode()
    )
    assert "риск резко вырос за неделю" in client.get(reverse("risk:alerts")).content.decode()


@pytest.mark.django_db
def test_the_pages_name_the_configured_horizon(client_as, alpha, flagged, settings):
    settings.RISK_HORIZON_DAYS = 45
    client = client_as(alpha.teacher)
    assert "уйдёт в ближайшие 45 дн." in client.get(reverse("risk:list")).content.decode()
    card = client.get(reverse("risk:card", args=[alpha.enrollment.pk])).content.decode()
    assert "Риск ухода в ближайшие 45 дн." in card and "30 дн" not in card


@pytest.mark.django_db
def test_a_cut_list_says_how_many_are_not_shown(client_as, alpha, flagged, monkeypatch):
    from kruzhok.risk import views

    other = f.EnrollmentFactory(
        organization=alpha.org, group=alpha.group, started_on=AS_OF - dt.timedelta(days=60)
    )
    risk_score_compute(org=alpha.org, as_of=AS_OF, enrollment_ids=[other.pk])
    client = client_as(alpha.teacher)
    assert "Показаны первые" not in client.get(reverse("risk:list")).content.decode()
    monkeypatch.setattr(views, "LIST_LIMIT", 1)
    body = client.get(reverse("risk:list")).content.decode()
    assert body.count('class="card risk-row"') == 1
    assert "Показаны первые 1 из 2. Уточните фильтр, чтобы увидеть остальных." in body
    # The riskiest child is the one kept.
    assert "Петрова-alpha Маша" in body


@pytest.mark.django_db
def test_a_centre_that_never_set_its_rules_starts_from_the_server_defaults(client_as, alpha, settings):
    settings.RISK_ALERT_THRESHOLD = 0.6
    settings.RISK_ALERTS_PER_TEACHER_WEEK = 4
    owner = client_as(alpha.owner)
    url = reverse("risk:what_helps")
    body = owner.get(url).content.decode()
    assert 'name="threshold_percent" value="60"' in body and 'name="weekly_budget" value="4"' in body
    assert "сигнал поднимается и при росте риска на 15 пунктов за неделю" in body
    owner.post("/i18n/setlang/", {"language": "en", "next": url})
    english = owner.get(url).content.decode()
    assert "an alert is also raised when the risk rises by 15 points within a week" in english
    owner.post("/i18n/setlang/", {"language": "ru", "next": url})
    page = client_as(alpha.manager).get(url).content.decode()
    assert "Общие для всего сервера правила" not in page
    assert "сигнал поднимается от риска 60 %" in page and "не больше 4 новых сигналов в неделю" in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    "threshold, budget, message",
    [
        ("4", "5", "больше либо равно 5"),
        ("96", "5", "меньше либо равно 95"),
        ("50", "0", "больше либо равно 1"),
        ("50", "51", "меньше либо равно 50"),
        ("half", "5", "Введите целое число"),
    ],
)
def test_the_owner_cannot_set_a_threshold_or_budget_out_of_range(
    client_as, alpha, threshold, budget, message
):
    from kruzhok.risk.alerts import risk_settings_for

    owner = client_as(alpha.owner)
    response = owner.post(
        reverse("risk:what_helps"),
        {
            "threshold_percent": threshold,
            "weekly_budget": budget,
            "escalation_days": "3",
            "outcome_days": "30",
        },
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    rules = risk_settings_for(org=alpha.org)
    assert (rules.pk, rules.threshold_percent, rules.weekly_budget) == (None, 50, 5)


@pytest.mark.django_db
def test_the_pages_follow_the_organisations_own_threshold(client_as, alpha, beta, flagged):
    """Alpha lowers its threshold to 30 %: its list says so and a 40 % alert is red in its feed; beta
    (no settings of its own) keeps the server's 50 %."""
    from kruzhok.risk.alerts import risk_settings_update

    flagged.probability = 0.4
    flagged.save()
    risk_settings_update(
        org=alpha.org, escalation_days=3, outcome_days=30, threshold_percent=30, weekly_budget=5
    )
    manager = client_as(alpha.manager)
    assert "Сигнал поднимается от 30 %." in manager.get(reverse("risk:list")).content.decode()
    feed = manager.get(reverse("risk:alerts")).content.decode()
    assert '<span class="badge bad">40 %</span>' in feed
    risk_settings_update(
        org=alpha.org, escalation_days=3, outcome_days=30, threshold_percent=60, weekly_budget=5
    )
    feed = manager.get(reverse("risk:alerts")).content.decode()
    assert '<span class="badge warn">40 %</span>' in feed
    assert "Сигнал поднимается от 50 %." in client_as(beta.manager).get(reverse("risk:list")).content.decode()
