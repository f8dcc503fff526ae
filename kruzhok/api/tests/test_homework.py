import pytest

from kruzhok.homework.models import HomeworkResult

pytestmark = pytest.mark.django_db


def test_the_api_records_and_lists_homework_for_staff_and_the_parent(alpha, api_as):
    staff = api_as(alpha.teacher)
    body = {"lesson": alpha.lesson.pk, "student": alpha.student.pk, "status": "submitted", "grade": 4}
    response = staff.post("/homework", body)
    assert response.status_code == 200, response.content
    assert response.json()["grade"] == 4 and response.json()["student"]["id"] == alpha.student.pk
    parent_list = api_as(alpha.parent).get("/homework").json()
    assert [item["grade"] for item in parent_list["items"]] == [4]


@pytest.mark.parametrize(
    "body, code",
    [
        ({"status": "submitted", "grade": 9}, 422),
        ({"status": "missed", "grade": 3}, 400),
        ({"status": "done"}, 422),
        ({"status": "submitted", "comment": "x" * 5000}, 422),
        ({"status": "submitted", "surprise": 1}, 422),
    ],
)
def test_the_api_refuses_bad_homework_with_a_clear_error(alpha, api_as, body, code):
    payload = {"lesson": alpha.lesson.pk, "student": alpha.student.pk, **body}
    response = api_as(alpha.teacher).post("/homework", payload)
    assert response.status_code == code, response.content
    assert response.json()["error"]["message"]
    assert not HomeworkResult.objects.exists()
