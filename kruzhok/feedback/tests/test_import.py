import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kruzhok.feedback.models import Feedback, Source
from kruzhok.messaging.models import Message, MessageKind

pytestmark = pytest.mark.django_db

CSV = (
    "author,rating,text\n"
    "Анна,5,Отличный кружок, ребёнку очень нравится\n"
    'Олег,1,"Ужасно: занятия отменяют, преподаватель грубит"\n'
    "Ира,7,Оценка странная\n"
    "Пётр,,\n"
)


def upload(client, content: bytes, **data):
    file = SimpleUploadedFile("reviews.csv", content, content_type="text/csv")
    return client.post(reverse("feedback:import"), {"file": file, **data})


def test_a_manager_imports_reviews_and_a_negative_one_raises_an_alert(alpha, client_as):
    client = client_as(alpha.manager)
    response = upload(client, CSV.encode(), branch=alpha.branch.pk)
    page = response.content.decode()
    assert response.status_code == 200 and "Добавлено: 2, уже были: 0." in page
    assert "Строка 4: Оценка — число от 1 до 5." in page and "Строка 5: Напишите текст отзыва." in page
    negative = Feedback.objects.get(external_author="Олег")
    assert negative.source == Source.EXTERNAL and negative.sentiment == "negative" and negative.alert_open
    assert Message.objects.filter(kind=MessageKind.FEEDBACK_ALERT, user=alpha.manager).count() == 1
    # The same file again adds nothing.
    assert (
        "Добавлено: 0, уже были: 2." in upload(client, CSV.encode(), branch=alpha.branch.pk).content.decode()
    )
    # An external review's alert closes with a recorded answer, though nobody in the app receives it.
    client.post(reverse("feedback:feedback_detail", args=[negative.pk]), {"body": "Ответили на картах."})
    negative.refresh_from_db()
    assert not negative.alert_open and negative.first_answered_at is not None


def test_a_windows_1251_file_with_semicolons_is_read(alpha, client_as):
    content = "текст;оценка\nСпасибо, всё отлично;5\n".encode("cp1251")
    response = upload(client_as(alpha.owner), content)
    assert "Добавлено: 1" in response.content.decode()


@pytest.mark.parametrize("content", [b"", b"\x00\xff\xfe" * 10, b"a" * (1024 * 1024 + 10)])
def test_bad_files_get_a_clear_error(alpha, client_as, content):
    response = upload(client_as(alpha.owner), content)
    assert response.status_code in (200, 400)
    assert not Feedback.objects.exists()


def test_a_manager_must_choose_a_branch_and_only_their_own(alpha, beta, client_as):
    client = client_as(alpha.manager)
    assert upload(client, CSV.encode()).status_code == 400
    assert upload(client, CSV.encode(), branch=alpha.other_branch.pk).status_code == 400
    assert upload(client, CSV.encode(), branch=beta.branch.pk).status_code == 400
    assert not Feedback.objects.exists()
    assert client_as(alpha.teacher).get(reverse("feedback:import")).status_code == 403
