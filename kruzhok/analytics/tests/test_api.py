import pytest

from kruzhok.analytics.tests.scenario import build_october

pytestmark = pytest.mark.django_db


def test_the_summary_matches_the_page(alpha, client_as):
    build_october(alpha)
    data = client_as(alpha.owner).get("/api/v1/analytics/summary?month=2026-10").json()
    assert (data["active_students"], data["new_enrollments"], data["dropped"]) == (3, 1, 2)
    assert data["churn_rate"] == pytest.approx(0.4)
    assert data["revenue"] == "5000.00"


def test_a_teacher_gets_no_money_and_only_their_groups(alpha, client_as):
    o = build_october(alpha)
    data = client_as(o.teacher2).get("/api/v1/analytics/summary?month=2026-10").json()
    assert data["revenue"] is None and data["revenue_at_risk"] is None
    assert [g["group_name"] for g in data["by_group"]] == [o.group2.name]


def test_another_organisations_ids_answer_404(alpha, beta, client_as):
    client = client_as(beta.owner)
    for param in (f"branch={alpha.branch.pk}", f"course={alpha.course.pk}", f"teacher={alpha.teacher.pk}"):
        response = client.get(f"/api/v1/analytics/summary?{param}")
        assert response.status_code == 404, param
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("month", ["2099-01", "2026-13", "abc", "1900-01"])
def test_a_bad_month_is_a_400_with_a_message(alpha, client_as, month):
    response = client_as(alpha.owner).get(f"/api/v1/analytics/summary?month={month}")
    assert response.status_code == 400
    assert "month" in response.json()["error"]["fields"]


def test_retention_by_each_dimension(alpha, client_as):
    build_october(alpha)
    client = client_as(alpha.owner)
    for by in ("course", "branch", "teacher", "age", "start"):
        data = client.get(f"/api/v1/analytics/retention?by={by}").json()
        assert data["overall"]["n"] == 6  # the world's child and the five October enrollments
    assert client.get("/api/v1/analytics/retention?by=planet").status_code == 400


def test_families_are_refused(alpha, client_as):
    assert client_as(alpha.parent).get("/api/v1/analytics/summary").status_code == 403
