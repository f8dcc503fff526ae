import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from kruzhok.gamification import services
from kruzhok.gamification.models import CoinEntry, RequestStatus, Reward, StudentXp

pytestmark = pytest.mark.django_db


def coins(world) -> int:
    return StudentXp.objects.get(student=world.student).coins


def test_visits_and_kudos_earn_coins_and_a_correction_takes_them_back(alpha, mark):
    mark(alpha, "present")
    services.kudos_give(lesson=alpha.lesson, student=alpha.student, actor=alpha.teacher)
    assert coins(alpha) == 2
    mark(alpha, "absent")
    assert coins(alpha) == 1


def test_a_correction_after_spending_never_leaves_a_debt(alpha, mark):
    mark(alpha, "present")
    reward = services.reward_create(org=alpha.org, title="Наклейка", price=1, stock=5)
    services.reward_request_create(reward=reward, student=alpha.student)
    mark(alpha, "absent")
    assert coins(alpha) == 0


def test_asking_holds_coins_and_approving_takes_stock(alpha, mark):
    mark(alpha, "present")
    reward = services.reward_create(org=alpha.org, title="Наклейка", price=1, stock=1)
    request = services.reward_request_create(reward=reward, student=alpha.student)
    assert coins(alpha) == 0
    services.reward_request_decide(request=request, actor=alpha.manager, approve=True)
    reward.refresh_from_db()
    request.refresh_from_db()
    assert reward.stock == 0 and request.status == RequestStatus.APPROVED
    with pytest.raises(ValidationError) as exc:
        services.reward_request_decide(request=request, actor=alpha.manager, approve=False)
    assert exc.value.code == "already_decided"


def test_refusing_gives_the_coins_back(alpha, mark):
    mark(alpha, "present")
    reward = services.reward_create(org=alpha.org, title="Значок", price=1, stock=3)
    request = services.reward_request_create(reward=reward, student=alpha.student)
    services.reward_request_decide(request=request, actor=alpha.manager, approve=False)
    assert coins(alpha) == 1


def test_a_child_cannot_overspend(alpha, mark):
    mark(alpha, "present")
    reward = services.reward_create(org=alpha.org, title="Кружка", price=1, stock=3)
    services.reward_request_create(reward=reward, student=alpha.student)
    with pytest.raises(ValidationError) as exc:
        services.reward_request_create(reward=reward, student=alpha.student)
    assert exc.value.code == "not_enough_coins"
    assert coins(alpha) == 0


def test_the_database_refuses_a_negative_balance(alpha, mark):
    mark(alpha, "present")
    with pytest.raises(IntegrityError), transaction.atomic():
        StudentXp.objects.filter(student=alpha.student).update(coins=-1)


def test_an_empty_stock_is_refused(alpha, mark):
    mark(alpha, "present")
    reward = services.reward_create(org=alpha.org, title="Футболка", price=1, stock=0)
    with pytest.raises(ValidationError) as exc:
        services.reward_request_create(reward=reward, student=alpha.student)
    assert exc.value.code == "out_of_stock"


@pytest.mark.parametrize(
    ("fields", "code"),
    [({"price": 0}, "invalid_price"), ({"stock": -1}, "invalid_stock"), ({"title": " "}, "title_required")],
)
def test_bad_rewards_are_refused(alpha, fields, code):
    with pytest.raises(ValidationError) as exc:
        services.reward_create(org=alpha.org, **{"title": "Приз", "price": 5, "stock": 1, **fields})
    assert exc.value.code == code


def test_the_child_asks_and_the_manager_approves_through_the_pages(alpha, mark, client_as):
    mark(alpha, "present")
    reward = services.reward_create(org=alpha.org, title="Наклейка-робот", price=1, stock=2)
    child = client_as(alpha.student_user)
    assert "Наклейка-робот" in child.get(reverse("gamification:shop")).content.decode()
    child.post(reverse("gamification:reward_ask", args=[reward.pk]))
    manager = client_as(alpha.manager)
    page = manager.get(reverse("gamification:shop_manage")).content.decode()
    assert "Наклейка-робот" in page and alpha.student.full_name in page
    request = reward.requests.get()
    manager.post(reverse("gamification:request_decide", args=[request.pk]), {"decision": "approve"})
    assert Reward.objects.get(pk=reward.pk).stock == 1
    assert CoinEntry.objects.filter(student=alpha.student).count() == 2


def test_other_orgs_and_other_roles_cannot_touch_the_shop(alpha, beta, mark, client_as):
    mark(alpha, "present")
    reward = services.reward_create(org=alpha.org, title="Приз", price=1, stock=2)
    request = services.reward_request_create(reward=reward, student=alpha.student)
    decide = reverse("gamification:request_decide", args=[request.pk])
    assert client_as(beta.manager).post(decide, {"decision": "approve"}).status_code == 404
    assert (
        client_as(beta.student_user).post(reverse("gamification:reward_ask", args=[reward.pk])).status_code
        == 404
    )
    assert client_as(alpha.teacher).post(decide, {"decision": "approve"}).status_code == 403
    assert (
        client_as(alpha.parent).post(reverse("gamification:reward_ask", args=[reward.pk])).status_code == 403
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
