import pytest

from kruzhok.billing import services
from kruzhok.billing.models import Payment
from kruzhok.billing.tests.helpers import pack_plan, sell
from kruzhok.school.models import StudentGuardian
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def sold(alpha):
    return sell(alpha, pack_plan(alpha, price="4800", name="Восемь занятий"))


def test_a_manager_takes_a_payment_once_per_key(api_as, alpha, sold):
    api = api_as(alpha.manager)
    body = {"account": sold.account_id, "amount": "4800", "method": "card", "idempotency_key": "mobile-1"}
    first = api.post("/payments", body)
    second = api.post("/payments", body)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["amount"] == "4800.00"
    assert Payment.objects.count() == 1
    balance = api.get(f"/balances/{sold.account_id}").json()
    assert balance["balance"] == "0.00"


def test_a_negative_payment_is_a_400_with_its_code(api_as, alpha, sold):
    response = api_as(alpha.manager).post(
        "/payments", {"account": sold.account_id, "amount": "-5", "method": "cash", "idempotency_key": "x"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "negative_amount"


def test_a_zero_lesson_plan_is_refused_by_the_api(api_as, alpha):
    response = api_as(alpha.owner).post(
        "/plans", {"name": "Пустой", "kind": "pack", "course": alpha.course.pk, "price": "100", "lessons": 0}
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "zero_lessons"


def test_a_manager_sells_through_the_api(api_as, alpha):
    plan = pack_plan(alpha, price="3000")
    response = api_as(alpha.manager).post(
        "/subscriptions", {"student": alpha.student.pk, "plan": plan.pk, "idempotency_key": "s1"}
    )
    assert response.status_code == 201
    assert response.json()["lessons_left"] == plan.lessons


def test_a_parent_reads_only_their_own_family(api_as, alpha, sold):
    other_guardian = f.GuardianFactory(organization=alpha.org, full_name="Чужой Родитель")
    other_child = f.StudentFactory(
        organization=alpha.org, first_name="Чужой", last_name="Ребёнок", branch=alpha.branch
    )
    StudentGuardian.objects.create(organization=alpha.org, student=other_child, guardian=other_guardian)
    f.EnrollmentFactory(organization=alpha.org, student=other_child, group=alpha.group)
    other = services.subscription_sell(
        org=alpha.org, actor=alpha.manager, student=other_child, plan=sold.plan
    )
    api = api_as(alpha.parent)
    subs = api.get("/subscriptions").json()["items"]
    assert [s["id"] for s in subs] == [sold.pk]
    assert api.get(f"/subscriptions/{other.pk}").status_code == 404
    balances = api.get("/balances").json()["items"]
    assert [b["account_id"] for b in balances] == [sold.account_id]
    assert api.get(f"/balances/{other.account_id}").status_code == 404
    assert (
        api.post(
            "/payments", {"account": sold.account_id, "amount": "1", "method": "cash", "idempotency_key": "p"}
        ).status_code
        == 403
    )


def test_a_teacher_and_a_student_cannot_read_billing(api_as, alpha, sold):
    for user in (alpha.teacher, alpha.student_user):
        assert api_as(user).get("/balances").status_code == 403
        assert api_as(user).get("/subscriptions").status_code == 403


def test_another_organisation_gets_404(api_as, alpha, beta, sold):
    api = api_as(beta.owner)
    assert api.get(f"/subscriptions/{sold.pk}").status_code == 404
    assert api.get(f"/balances/{sold.account_id}").status_code == 404
    assert api.get(f"/plans/{sold.plan_id}").status_code == 404
    response = api.post(
        "/payments", {"account": sold.account_id, "amount": "1", "method": "cash", "idempotency_key": "z"}
    )
    assert response.status_code == 404


def test_the_billing_endpoints_are_in_the_schema(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/plans", "/api/v1/subscriptions", "/api/v1/payments", "/api/v1/balances/{pk}"):
        assert path in paths
