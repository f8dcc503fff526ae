"""What the sentiment model shows staff: the tone, its confidence, the words that decided it and the aspects."""

import pytest

from kruzhok.feedback import services
from tests.browser.conftest import DESKTOP, PHONE, login

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_manager_sees_why_an_english_complaint_was_called_negative(new_page, snap, alpha):
    services.feedback_submit(
        org=alpha.org,
        actor=alpha.parent,
        guardian=alpha.guardian,
        student=alpha.student,
        text="The coach was rude and the room is always cold. We are disappointed.",
    )
    services.feedback_submit(
        org=alpha.org,
        actor=alpha.parent,
        guardian=alpha.guardian,
        student=alpha.student,
        text="Спасибо! Дочке очень нравится новый преподаватель.",
    )
    for viewport, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
        manager = new_page(viewport=viewport)
        login(manager, alpha.manager.username)
        manager.goto("/feedback/")
        assert manager.get_by_text("1 негативный отзыв ждёт ответа").is_visible()
        snap(manager, f"sentiment-inbox-{name}")
        manager.get_by_text("The coach was rude").click()
        reason = manager.get_by_text("Почему такой тон:")
        assert reason.is_visible()
        assert "rude −" in reason.inner_text() and "disappointed −" in reason.inner_text()
        snap(manager, f"sentiment-detail-{name}")
