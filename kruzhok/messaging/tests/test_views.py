import pytest
from django.urls import reverse

from kruzhok.messaging import services
from kruzhok.messaging.models import Announcement, Message
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def note(world, user=None, guardian=None, body="Текст"):
    return services.message_enqueue(org=world.org, user=user, guardian=guardian, subject="Тема", body=body)


def test_a_parent_reads_their_message_and_it_becomes_read(alpha, client_as):
    message = note(alpha, guardian=alpha.guardian, user=alpha.parent, body="Завтра <b>экскурсия</b>")
    client = client_as(alpha.parent)
    inbox = client.get(reverse("messaging:inbox")).content.decode()
    assert "Тема" in inbox and "новое" in inbox
    page = client.get(reverse("messaging:message", args=[message.pk]))
    assert "Завтра &lt;b&gt;экскурсия&lt;/b&gt;" in page.content.decode()
    message.refresh_from_db()
    assert message.read_at is not None


def test_another_familys_message_is_404(alpha, client_as):
    other_parent = f.UserFactory()
    from kruzhok.accounts.models import Membership

    Membership.objects.create(user=other_parent, organization=alpha.org, role="parent")
    message = note(alpha, user=other_parent)
    client = client_as(alpha.parent)
    assert client.get(reverse("messaging:message", args=[message.pk])).status_code == 404
    assert "Тема" not in client.get(reverse("messaging:inbox")).content.decode()


def test_another_organisations_user_gets_404(alpha, beta, client_as):
    message = note(alpha, guardian=alpha.guardian, user=alpha.parent)
    assert client_as(beta.parent).get(reverse("messaging:message", args=[message.pk])).status_code == 404


def test_a_manager_sends_an_announcement_to_a_group(alpha, client_as):
    client = client_as(alpha.manager)
    response = client.post(
        reverse("messaging:announcements"),
        {
            "audience": "group",
            "group": alpha.group.pk,
            "title": "Экскурсия",
            "body": "{родитель}, {ребёнок} едет в музей",
        },
    )
    announcement = Announcement.objects.get()
    assert response.status_code == 302
    (message,) = Message.objects.filter(announcement=announcement)
    assert message.body == "Петрова Ольга (alpha), Маша едет в музей"
    report = client.get(reverse("messaging:announcement", args=[announcement.pk])).content.decode()
    assert "Отчёт о доставке" in report and "Петрова Ольга (alpha)" in report


def test_a_manager_writes_to_one_family(alpha, client_as):
    client = client_as(alpha.manager)
    client.post(
        reverse("messaging:announcements"),
        {"audience": "family", "guardian": alpha.guardian.pk, "title": "Оплата", "body": "Здравствуйте!"},
    )
    assert Message.objects.get().guardian == alpha.guardian


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("Привет, {имя}!", "неизвестные переменные: {имя}"),
        ("{child.__class__}", "неизвестные переменные: {child.__class__}"),
        ("", "Обязательное поле"),
    ],
)
def test_bad_templates_are_refused_and_nothing_is_sent(alpha, client_as, body, error):
    response = client_as(alpha.manager).post(
        reverse("messaging:announcements"),
        {"audience": "group", "group": alpha.group.pk, "title": "Тема", "body": body},
    )
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not Message.objects.exists()


def test_another_organisations_group_cannot_be_chosen(alpha, beta, client_as):
    response = client_as(alpha.manager).post(
        reverse("messaging:announcements"),
        {"audience": "group", "group": beta.group.pk, "title": "Тема", "body": "Текст"},
    )
    assert response.status_code == 400
    assert not Message.objects.exists()


def test_teachers_parents_and_students_cannot_send(alpha, client_as):
    for user in (alpha.teacher, alpha.parent, alpha.student_user):
        assert client_as(user).get(reverse("messaging:announcements")).status_code == 403


def test_a_manager_cannot_open_another_managers_report(alpha, beta, client_as):
    announcement = services.announcement_send(
        org=alpha.org, actor=alpha.owner, title="T", body_template="B", audience="group", group=alpha.group
    )
    assert (
        client_as(alpha.manager).get(reverse("messaging:announcement", args=[announcement.pk])).status_code
        == 404
    )
    assert (
        client_as(beta.owner).get(reverse("messaging:announcement", args=[announcement.pk])).status_code
        == 404
    )
    assert (
        client_as(alpha.owner).get(reverse("messaging:announcement", args=[announcement.pk])).status_code
        == 200
    )


def test_hostile_text_is_shown_escaped(alpha, client_as):
    client = client_as(alpha.owner)
    client.post(
        reverse("messaging:announcements"),
        {
            "audience": "family",
            "guardian": alpha.guardian.pk,
            "title": "<script>x</script>",
            "body": "<img onerror=1>",
        },
    )
    message = Message.objects.get()
    page = client_as(alpha.parent).get(reverse("messaging:message", args=[message.pk])).content.decode()
    assert "<script>x</script>" not in page and "&lt;script&gt;" in page
