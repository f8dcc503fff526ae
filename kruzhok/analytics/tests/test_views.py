"""The dashboards as each role sees them: figures, drill-downs, scope, and bad input."""

import datetime as dt
import re

import pytest

from kruzhok.analytics.tests.scenario import build_october

pytestmark = pytest.mark.django_db
OCT = "month=2026-10"


def _names(response) -> list[str]:
    return re.findall(r'an-children">.*?</ul>', response.content.decode(), re.S)[0]


def test_the_owner_sees_octobers_churn_and_the_children_behind_it(alpha, client_as):
    build_october(alpha)
    client = client_as(alpha.owner)
    page = client.get(f"/analytics/?{OCT}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "40,0 %" in html  # 2 of 5 could-leave children left
    assert f"/analytics/children/?metric=dropped&amp;{OCT}" in html
    drill = client.get(f"/analytics/children/?metric=dropped&{OCT}")
    names = _names(drill)
    assert "Ушедшая-центр" in names and "Ушедший-север" in names
    assert "Постоянный" not in names
    assert "Детей: 2" in drill.content.decode()


def test_every_tile_links_to_a_list_of_the_same_size(alpha, client_as):
    build_october(alpha)
    client = client_as(alpha.owner)
    expected = {"active": 3, "new": 1, "dropped": 2, "at_risk": 1}
    for metric, n in expected.items():
        page = client.get(f"/analytics/children/?metric={metric}&{OCT}")
        assert page.status_code == 200
        assert _names(page).count("<li>") == n, metric


def test_a_manager_sees_only_their_branch(alpha, client_as):
    build_october(alpha)
    client = client_as(alpha.manager)
    drill = client.get(f"/analytics/children/?metric=dropped&{OCT}")
    assert "Ушедшая-центр" in _names(drill)
    assert "Ушедший-север" not in drill.content.decode()
    # Asking for the other branch by filter gives an error, not its children.
    other = client.get(f"/analytics/children/?metric=dropped&{OCT}&branch={alpha.other_branch.pk}")
    assert other.status_code == 400
    assert "Ушедший-север" not in other.content.decode()
    assert "Такого значения в списке нет" in other.content.decode()


def test_a_teacher_sees_only_their_groups_and_no_money(alpha, client_as):
    o = build_october(alpha)
    client = client_as(o.teacher2)
    page = client.get(f"/analytics/?{OCT}")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Выручка" not in html
    assert alpha.group.name not in html
    drill = client.get(f"/analytics/children/?metric=dropped&{OCT}&group={alpha.group.pk}")
    assert "Ушедшая-центр" not in drill.content.decode()


@pytest.mark.parametrize("role", ["parent", "student_user"])
def test_families_cannot_open_analytics(alpha, client_as, role):
    client = client_as(getattr(alpha, role))
    for url in [
        "/analytics/",
        "/analytics/retention/",
        "/analytics/compare/",
        "/analytics/children/?metric=active",
        "/analytics/retention.csv",
    ]:
        assert client.get(url).status_code == 403, url


def test_another_organisations_owner_sees_none_of_alpha(alpha, beta, client_as):
    build_october(alpha)
    client = client_as(beta.owner)
    for url in [
        f"/analytics/?{OCT}",
        f"/analytics/children/?metric=dropped&{OCT}",
        "/analytics/retention.csv",
        f"/analytics/children/?metric=active&{OCT}&group={alpha.group.pk}",
        "/analytics/compare/?unit=group",
    ]:
        html = client.get(url).content.decode()
        assert "Ушедш" not in html and alpha.group.name not in html, url


@pytest.mark.parametrize(
    "query",
    [
        "month=2099-01",
        "month=' OR 1=1 --",
        "branch=abc",
        "course=999999999999999999999",
        "teacher=<script>alert(1)</script>",
        "month=" + "9" * 5000,
    ],
)
def test_bad_filters_get_a_russian_message_and_the_page_still_works(alpha, client_as, query):
    page = client_as(alpha.owner).get(f"/analytics/?{query}")
    assert page.status_code == 400
    html = page.content.decode()
    assert "Такого значения в списке нет" in html
    assert "<script>alert(1)</script>" not in html
    assert "an-tile-value" in html  # the figures of the default month are still shown


@pytest.mark.parametrize("query", ["", "metric=zzz", "metric=active&group=abc", "metric=active&group=-5"])
def test_a_bad_drill_down_says_what_is_wrong(alpha, client_as, query):
    page = client_as(alpha.owner).get(f"/analytics/children/?{query}")
    assert page.status_code == 400
    assert re.search(
        "Не указано|Такого показателя нет|Группа указана неверно|Убедитесь", page.content.decode()
    )


def test_retention_and_compare_pages_answer_and_reject_unknown_choices(alpha, client_as):
    build_october(alpha)
    client = client_as(alpha.owner)
    for by in ["course", "branch", "teacher", "age", "start"]:
        assert client.get(f"/analytics/retention/?by={by}").status_code == 200
    assert client.get("/analytics/retention/?by=evil").status_code == 400
    page = client.get("/analytics/compare/?unit=branch&metric=retention")
    assert page.status_code == 200
    assert alpha.other_branch.name in page.content.decode()
    assert "мало данных" in page.content.decode()
    assert client.get("/analytics/compare/?unit=planet").status_code == 400


def test_charts_have_text_alternatives(alpha, client_as):
    build_october(alpha)
    html = client_as(alpha.owner).get(f"/analytics/?{OCT}").content.decode()
    assert html.count('role="img"') >= 4
    assert 'aria-label="Отток по месяцам' in html
    assert "<table" in html


def test_a_child_who_left_two_groups_is_one_child_and_two_enrollments_with_when_and_why(alpha, client_as):
    october = build_october(alpha)
    from kruzhok.testing import factories as f

    # Ушедшая-центр also left the northern group, a week later, over the timetable.
    f.EnrollmentFactory(
        organization=alpha.org,
        student=october.e2_dropped.student,
        group=october.group2,
        started_on=dt.date(2026, 9, 1),
        status="dropped",
        ended_on=dt.date(2026, 10, 17),
        drop_reason="schedule",
    )
    client = client_as(alpha.owner)
    tile = re.search(
        r"Ушли</span>\s*<span class=\"an-tile-value\">(\d+)",
        client.get(f"/analytics/?{OCT}").content.decode(),
    )
    assert tile.group(1) == "3"
    drill = client.get(f"/analytics/children/?metric=dropped&{OCT}")
    html = drill.content.decode()
    assert "Детей: 2 · зачислений: 3" in html
    names = _names(drill)
    assert "Север-1 (alpha) · 01.09.2026 — 17.10.2026 · Не подходит расписание" in names
    assert f"{alpha.group.name} · 01.09.2026 — 10.10.2026" in names


def test_each_compared_unit_leads_to_its_own_figures_and_children(alpha, client_as):
    october = build_october(alpha)
    client = client_as(alpha.owner)
    groups = client.get(f"/analytics/compare/?unit=group&metric=retention&{OCT}").content.decode()
    link = re.search(rf'<a href="([^"]*group={alpha.group.pk})">{re.escape(alpha.group.name)}</a>', groups)
    drill = client.get(link.group(1).replace("&amp;", "&"))
    assert "Постоянный" in _names(drill) and "Ушедшая-центр" not in _names(drill)
    teachers = client.get(f"/analytics/compare/?unit=teacher&metric=retention&{OCT}").content.decode()
    link = re.search(rf'<a href="([^"]*teacher={october.teacher2.pk})">', teachers)
    dashboard = client.get(link.group(1).replace("&amp;", "&"))
    assert dashboard.status_code == 200
    # Only the northern group's teacher: 1 of the 2 who left in October.
    assert re.search(r"Ушли</span>\s*<span class=\"an-tile-value\">1<", dashboard.content.decode())


def test_percentages_use_the_languages_decimal_mark(alpha, client_as):
    build_october(alpha)
    client = client_as(alpha.owner)
    from django.conf import settings

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # what the language selector sets
    english = client.get(f"/analytics/?{OCT}").content.decode()
    assert "40.0 %" in english and "40,0 %" not in english
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
    assert "40,0 %" in client.get(f"/analytics/?{OCT}").content.decode()


def test_nps_and_negative_feedback_are_drawn_by_month_with_their_text(alpha, client_as):
    from kruzhok.feedback.services import feedback_submit

    for score, text in [(5, "Ребёнку очень нравится, спасибо!"), (2, "Было скучно, сын не хочет идти.")]:
        feedback_submit(
            org=alpha.org,
            actor=alpha.parent,
            guardian=alpha.guardian,
            student=alpha.student,
            text=text,
            score=score,
        )
    page = client_as(alpha.owner).get("/analytics/").content.decode()
    chart = re.search(r'<svg[^>]*aria-label="(NPS и доля негативных отзывов по месяцам: [^"]*)"', page)
    assert chart is not None
    from django.utils import timezone

    this_month = timezone.localdate().strftime("%m.%y")
    # One promoter (5) and one detractor (2): NPS 0.
    assert f"{this_month} — NPS 0," in chart.group(1)


def test_the_retention_tables_counts_open_the_children_behind_them(alpha, beta, client_as):
    build_october(alpha)
    client = client_as(alpha.owner)
    page = client.get("/analytics/retention/?by=branch").content.decode()
    row = re.search(
        rf'<td>{re.escape(alpha.branch.name)}</td><td><a href="([^"]+)">\d+</a></td><td><a href="([^"]+)">1</a>',
        page,
    )
    assert row is not None, "the counts are links"
    everyone_url, left_url = (u.replace("&amp;", "&") for u in row.groups())
    left = client.get(left_url)
    names = _names(left)
    assert "Ушедшая-центр" in names and "Постоянный" not in names and "Ушедший-север" not in names
    assert f"Ушли · Филиал: {alpha.branch.name}: на 20.11.2026" in left.content.decode()
    everyone = _names(client.get(everyone_url))
    assert "Постоянный" in everyone and "Ушедшая-центр" in everyone and "Ушедший-север" not in everyone
    # Another organisation's owner with the same link sees none of alpha's children.
    assert "Ушедшая-центр" not in client_as(beta.owner).get(left_url).content.decode()


def test_a_retention_drill_down_without_a_row_says_so(alpha, client_as):
    page = client_as(alpha.owner).get("/analytics/retention/children/?by=course")
    assert page.status_code == 400
    assert "Не указано, какую строку удержания раскрыть." in page.content.decode()


def test_the_retention_table_served_from_cache_shows_a_drop_on_the_next_view(
    alpha, client_as, django_capture_on_commit_callbacks
):
    from kruzhok.analytics.tests.conftest import TODAY
    from kruzhok.school.services.enrollments import enrollment_transition

    o = build_october(alpha)
    client = client_as(alpha.owner)

    def left_in_branch() -> str:
        page = client.get("/analytics/retention/?by=branch").content.decode()
        row = re.search(
            rf'<td>{re.escape(alpha.branch.name)}</td><td><a href="[^"]+">\d+</a></td><td>(?:<a href="[^"]+">)?(\d+)',
            page,
        )
        assert row is not None
        return row.group(1)

    assert left_in_branch() == "1"
    assert left_in_branch() == "1"  # the cached table
    with django_capture_on_commit_callbacks(execute=True):
        enrollment_transition(
            enrollment=o.e3_steady, to_status="dropped", actor=alpha.manager, reason="moved", on_date=TODAY
        )
    assert left_in_branch() == "2"


def test_the_cached_filter_lists_a_new_groups_teacher_and_keeps_errors_per_value(alpha, client_as):
    from kruzhok.testing import factories as f

    build_october(alpha)
    client = client_as(alpha.owner)
    assert "Новикова" not in client.get("/analytics/").content.decode()
    teacher = f.UserFactory(username="novikova", last_name="Новикова", first_name="Анна")
    group = f.GroupFactory(organization=alpha.org, course=alpha.course, branch=alpha.branch, teacher=teacher)
    # A new group comes with an enrollment (or lessons): the filter's key moves with them.
    f.EnrollmentFactory(
        organization=alpha.org,
        student=f.StudentFactory(organization=alpha.org, branch=alpha.branch),
        group=group,
        started_on=dt.date(2026, 11, 2),
        status="active",
    )
    # The very same request as before the group: its cached selects must not be served again.
    assert f'<option value="{teacher.pk}">' in client.get("/analytics/").content.decode()
    page = client.get(f"/analytics/?teacher={teacher.pk}")
    assert page.status_code == 200
    assert re.search(rf'<option value="{teacher.pk}" selected>[^<]*Новикова', page.content.decode())
    # The same lists with another value asked for: that value's own selection and error.
    bad = client.get("/analytics/?teacher=999999")
    assert bad.status_code == 400
    assert "Такого значения в списке нет" in bad.content.decode()
    assert f'<option value="{teacher.pk}" selected>' not in bad.content.decode()
    again = client.get(f"/analytics/?teacher={teacher.pk}").content.decode()
    assert "Такого значения в списке нет" not in again
