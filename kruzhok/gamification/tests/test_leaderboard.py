import pytest
from django.urls import reverse

from kruzhok.gamification import services
from kruzhok.gamification.models import StudentXp
from kruzhok.gamification.selectors import group_leaderboard
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def classmates(world, points):
    """Children in the world's group with the given XP totals; names Ребёнок-<xp>."""
    kids = []
    for xp in points:
        kid = f.StudentFactory(organization=world.org, first_name=f"Ребёнок{xp}", last_name="Фамилиянтов")
        f.EnrollmentFactory(organization=world.org, student=kid, group=world.group)
        StudentXp.objects.create(organization=world.org, student=kid, xp=xp)
        kids.append(kid)
    return kids


def test_a_child_sees_only_the_top_three_and_their_own_place(alpha, client_as):
    classmates(alpha, [500, 400, 300, 200, 100])
    StudentXp.objects.create(organization=alpha.org, student=alpha.student, xp=50)
    body = client_as(alpha.student_user).get(reverse("gamification:home")).content.decode()
    assert "Ребёнок500" in body and "Ребёнок300" in body
    assert "Ребёнок200" not in body and "Ребёнок100" not in body
    assert "Твоё место: 6" in body
    # First name and initial only.
    assert "Фамилиянтов" not in body and "Ф." in body


def test_an_opted_out_child_is_left_out_of_everyones_board(alpha, client_as):
    kids = classmates(alpha, [500, 400, 300])
    services.leaderboard_opt_out_set(org=alpha.org, student=kids[0], opt_out=True)
    rows = group_leaderboard(org=alpha.org, group=alpha.group)
    assert kids[0] not in [row.student for row in rows]
    body = client_as(alpha.student_user).get(reverse("gamification:home")).content.decode()
    assert "Ребёнок500" not in body


def test_ties_share_a_place_and_nobody_is_below_zero(alpha):
    classmates(alpha, [100, 100, 0])
    rows = group_leaderboard(org=alpha.org, group=alpha.group)
    assert [row.place for row in rows] == [1, 1, 3, 3]
    assert min(row.xp for row in rows) == 0


def test_the_board_never_mixes_groups_or_orgs(alpha, beta):
    StudentXp.objects.create(organization=beta.org, student=beta.student, xp=999)
    rows = group_leaderboard(org=alpha.org, group=alpha.group)
    assert [row.student for row in rows] == [alpha.student]
