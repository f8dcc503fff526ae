import pytest

from kruzhok.school.services.calendar import guardian_calendar_token_rotate

pytestmark = pytest.mark.django_db


def test_it_stores_a_long_random_token(alpha):
    token = guardian_calendar_token_rotate(guardian=alpha.guardian)
    alpha.guardian.refresh_from_db()
    assert alpha.guardian.calendar_token == token
    assert len(token) >= 40


def test_each_rotation_gives_a_new_token(alpha):
    first = guardian_calendar_token_rotate(guardian=alpha.guardian)
    second = guardian_calendar_token_rotate(guardian=alpha.guardian)
    assert first != second
    alpha.guardian.refresh_from_db()
    assert alpha.guardian.calendar_token == second
