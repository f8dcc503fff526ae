import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from kruzhok.gamification import services
from kruzhok.gamification.models import BadgeAward, GamificationSettings, StudentXp, XpAward
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def test_the_student_sees_level_xp_badges_and_the_log(alpha, mark, client_as):
    services.badge_create(org=alpha.org, name="Первый шаг", rule="first", event="visit")
    mark(alpha, "present")
    page = client_as(alpha.student_user).get(reverse("gamification:home"))
    body = page.content.decode()
    assert page.status_code == 200
    assert "Росток" in body and 'id="xp-total">15<' in body
    assert "Первый шаг" in body
    assert "Пришёл вовремя" in body


def test_the_students_home_links_to_the_page(alpha, client_as):
    body = client_as(alpha.student_user).get(reverse("family:home")).content.decode()
    assert reverse("gamification:home") in body


def test_the_parent_sees_their_childs_page_and_can_opt_out(alpha, client_as):
    client = client_as(alpha.parent)
    page = client.get(reverse("gamification:home"))
    assert page.status_code == 200 and "Маша" in page.content.decode()
    client.post(reverse("gamification:opt_out", args=[alpha.student.pk]), {"opt_out": "on"})
    assert StudentXp.objects.get(student=alpha.student).leaderboard_opt_out
    client.post(reverse("gamification:opt_out", args=[alpha.student.pk]), {})
    assert not StudentXp.objects.get(student=alpha.student).leaderboard_opt_out


def test_a_parent_cannot_open_another_familys_child(alpha, client_as):
    other = f.StudentFactory(organization=alpha.org, branch=alpha.branch)
    client = client_as(alpha.parent)
    assert client.get(reverse("gamification:child", args=[other.pk])).status_code == 404
    assert client.post(reverse("gamification:opt_out", args=[other.pk]), {"opt_out": "on"}).status_code == 404


@pytest.mark.parametrize(
    "name,args",
    [
        ("gamification:child", "student"),
        ("gamification:student", "student"),
        ("gamification:group_board", "group"),
        ("gamification:badge_image", "badge"),
    ],
)
def test_other_organisations_get_404(alpha, beta, client_as, name, args):
    badge = services.badge_create(org=alpha.org, name="Секретный значок", rule="teacher")
    objects = {"student": alpha.student, "group": alpha.group, "badge": badge}
    url = reverse(name, args=[objects[args].pk])
    for user in (beta.owner, beta.teacher, beta.parent, beta.student_user):
        status = client_as(user).get(url).status_code
        assert status in (403, 404), (user, url, status)


def test_kudos_from_the_journal(alpha, mark, client_as):
    mark(alpha, "present")
    client = client_as(alpha.teacher)
    journal = client.get(reverse("attendance:lesson", args=[alpha.lesson.pk])).content.decode()
    url = reverse("gamification:kudos", args=[alpha.lesson.pk, alpha.student.pk])
    assert url in journal
    assert client.get(url).status_code == 200
    response = client.post(url, {"note": "<script>x</script> собрал робота"})
    assert response.status_code == 302
    award = XpAward.objects.get(student=alpha.student, component="kudos")
    assert award.amount == 15
    page = client_as(alpha.student_user).get(reverse("gamification:home")).content.decode()
    assert "собрал робота" in page and "<script>x</script>" not in page


def test_kudos_by_another_teacher_or_org_is_404_and_a_parent_403(alpha, beta, mark, client_as):
    mark(alpha, "present")
    url = reverse("gamification:kudos", args=[alpha.lesson.pk, alpha.student.pk])
    assert client_as(beta.teacher).post(url).status_code == 404
    assert client_as(alpha.parent).post(url).status_code == 403
    assert not XpAward.objects.filter(component="kudos").exists()


def test_kudos_for_an_absent_child_shows_why(alpha, mark, client_as):
    mark(alpha, "absent")
    url = reverse("gamification:kudos", args=[alpha.lesson.pk, alpha.student.pk])
    response = client_as(alpha.teacher).post(url, {"note": ""})
    assert response.status_code == 200
    assert "только ребёнка, который был на занятии" in response.content.decode()


def test_the_manager_saves_rules_and_sees_bad_input_explained(alpha, client_as):
    client = client_as(alpha.manager)
    url = reverse("gamification:settings")
    assert client.get(url).status_code == 200
    data = {
        "enabled": "on",
        "count_visits": "on",
        "xp_visit": "20",
        "count_on_time": "on",
        "xp_on_time": "5",
        "count_kudos": "on",
        "xp_kudos": "15",
        "count_homework": "on",
        "xp_homework": "10",
        "xp_good_grade": "10",
        "daily_cap": "60",
        "leaderboard_top": "3",
        "coins_per_visit": "1",
        "coins_per_kudos": "1",
    }
    assert client.post(url, data).status_code == 302
    assert GamificationSettings.objects.get(organization=alpha.org).xp_visit == 20
    bad = client.post(url, {**data, "xp_visit": "-3"})
    assert bad.status_code == 200 and "errorlist" in bad.content.decode()
    cap = client.post(url, {**data, "daily_cap": "5"})
    assert "меньше очков за одно посещение" in cap.content.decode()
    junk = client.post(url, {**data, "xp_visit": "abc" * 1000})
    assert junk.status_code == 200


def test_teachers_and_families_cannot_change_rules(alpha, client_as):
    for user in (alpha.teacher, alpha.parent, alpha.student_user):
        assert client_as(user).get(reverse("gamification:settings")).status_code == 403


def test_the_manager_creates_a_badge_and_sees_never_firing_rules_refused(alpha, client_as):
    client = client_as(alpha.manager)
    url = reverse("gamification:badge_create")
    ok = {
        "name": "Три недели",
        "rule": "streak",
        "event": "",
        "threshold": "3",
        "symbol": "🔥",
        "color": "#ff8800",
    }
    assert client.post(url, ok).status_code == 302
    never = client.post(url, {**ok, "name": "Вечность", "threshold": "900"})
    assert "никогда не выдадут" in never.content.decode()
    svg = client.get(reverse("gamification:settings")).content.decode()
    assert "Три недели" in svg


def test_staff_see_a_childs_page_and_the_group_board(alpha, mark, client_as):
    mark(alpha, "present")
    client = client_as(alpha.teacher)
    assert "Маша" in client.get(reverse("gamification:student", args=[alpha.student.pk])).content.decode()
    board = client.get(reverse("gamification:group_board", args=[alpha.group.pk])).content.decode()
    assert alpha.student.full_name in board


def test_a_teacher_gives_a_teacher_badge_from_the_kudos_page(alpha, beta, mark, client_as):
    manual = services.badge_create(org=alpha.org, name="Помощник педагога", rule="teacher")
    automatic = services.badge_create(org=alpha.org, name="Десять", rule="count", event="visit", threshold=10)
    mark(alpha, "present")
    client = client_as(alpha.teacher)
    page = client.get(
        reverse("gamification:kudos", args=[alpha.lesson.pk, alpha.student.pk])
    ).content.decode()
    assert "Помощник педагога" in page and "Десять" not in page
    url = reverse("gamification:badge_give", args=[alpha.lesson.pk, alpha.student.pk])
    assert client.post(url, {"badge": automatic.pk}).status_code == 404
    assert client_as(beta.teacher).post(url, {"badge": manual.pk}).status_code == 404
    assert client_as(alpha.teacher).post(url, {"badge": "x<script>"}).status_code == 404
    assert client_as(alpha.teacher).post(url, {"badge": manual.pk}).status_code == 302
    assert BadgeAward.objects.filter(badge=manual, student=alpha.student).count() == 1


def test_the_manager_edits_a_badge_a_reward_and_a_goal(alpha, client_as):
    import datetime as dt

    from kruzhok.gamification.models import Badge, GroupGoal, Reward

    client = client_as(alpha.manager)
    badge = services.badge_create(org=alpha.org, name="Десять", rule="count", event="visit", threshold=10)
    form = {"name": "Двадцать", "rule": "count", "event": "visit", "threshold": "20", "symbol": "20"}
    form |= {"color": "#112233", "is_active": "on"}
    assert client.post(reverse("gamification:badge_edit", args=[badge.pk]), form).status_code == 302
    assert Badge.objects.get(pk=badge.pk).threshold == 20
    never = client.post(
        reverse("gamification:badge_edit", args=[badge.pk]), {**form, "rule": "streak", "threshold": "500"}
    )
    assert "никогда не выдадут" in never.content.decode()
    assert Badge.objects.get(pk=badge.pk).rule == "count"

    reward = services.reward_create(org=alpha.org, title="Кепка", price=10, stock=1)
    url = reverse("gamification:reward_edit", args=[reward.pk])
    assert client.post(url, {"title": "Кепка", "price": "12", "stock": "5"}).status_code == 302
    assert (Reward.objects.get(pk=reward.pk).stock, Reward.objects.get(pk=reward.pk).is_active) == (5, False)
    assert client.post(url, {"title": "Кепка", "price": "12", "stock": "-1"}).status_code == 200

    today = alpha.lesson.starts_at.date()
    goal = services.group_goal_create(
        org=alpha.org,
        group=alpha.group,
        title="Цель",
        target_xp=50,
        starts_on=today,
        ends_on=today + dt.timedelta(days=20),
    )
    url = reverse("gamification:goal_edit", args=[goal.pk])
    data = {
        "group": alpha.group.pk,
        "title": "Новая цель",
        "target_xp": "80",
        "starts_on": today,
        "ends_on": today + dt.timedelta(days=20),
    }
    assert client.post(url, data).status_code == 302
    assert GroupGoal.objects.get(pk=goal.pk).title == "Новая цель"
    assert client_as(alpha.teacher).get(url).status_code == 403


def test_a_milestone_badge_is_given_at_its_xp_and_refused_when_nothing_gives_xp(alpha, mark):
    services.badge_create(org=alpha.org, name="Пятнадцать очков", rule="milestone", threshold=15)
    mark(alpha, "present")
    assert alpha.student.badge_awards.filter(badge__name="Пятнадцать очков").exists()
    services.gamification_settings_update(
        org=alpha.org,
        count_visits=False,
        count_on_time=False,
        count_kudos=False,
        count_homework=False,
        count_grades=False,
    )
    with pytest.raises(ValidationError) as exc:
        services.badge_create(org=alpha.org, name="Тысяча", rule="milestone", threshold=1000)
    assert exc.value.code == "never_fires"
