import pytest

from kruzhok.attendance.services import attendance_mark
from kruzhok.lib import events


@pytest.fixture
def received():
    got = []

    def handler(**payload):
        got.append(payload)

    events.subscribe("attendance.marked", handler)
    yield got
    events._subscribers["attendance.marked"].remove(handler)


@pytest.mark.django_db(transaction=True)
def test_marking_attendance_publishes_the_fact_after_commit(alpha, received):
    attendance_mark(lesson=alpha.lesson, student=alpha.student, status="absent", actor=alpha.teacher)
    assert received == [
        {
            "organization_id": alpha.org.id,
            "lesson_id": alpha.lesson.id,
            "student_id": alpha.student.id,
            "enrollment_id": alpha.enrollment.id,
            "status": "absent",
        }
    ]


def test_an_unknown_topic_is_refused():
    with pytest.raises(ValueError):
        events.publish("attendance.markd")
