"""Every way a request can go wrong answers a 4xx with the same envelope, never a 500 or an HTML page."""

import datetime as dt

import pytest
from django.db import IntegrityError
from django.test import RequestFactory

from kruzhok.api.main import api
from kruzhok.api.tests.helpers import error_code
from kruzhok.school.models import Branch

pytestmark = pytest.mark.django_db


def assert_envelope(response, status: int, code: str):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error


def test_malformed_json_is_400_malformed_json(alpha, api_as):
    response = api_as(alpha.owner).post("/branches", raw='{"name": "Филиал",')
    assert_envelope(response, 400, "malformed_json")


def test_a_body_that_is_not_an_object_is_invalid_input(alpha, api_as):
    response = api_as(alpha.owner).post("/branches", raw='["Филиал"]')
    error = assert_envelope(response, 422, "invalid_input")
    assert "body" in error["fields"]


def test_wrong_types_name_each_field(alpha, api_as):
    response = api_as(alpha.owner).post(
        "/groups",
        {"course": "первый", "branch": alpha.branch.pk, "name": 42, "capacity": True, "start_date": "вчера"},
    )
    error = assert_envelope(response, 422, "invalid_input")
    assert error["fields"]["course"] == "Нужно целое число."
    assert error["fields"]["name"] == "Нужна строка."
    assert error["fields"]["start_date"] == "Нужна дата в формате ГГГГ-ММ-ДД."
    assert error["fields"]["end_date"] == "Обязательное поле."


def test_unknown_fields_are_refused_not_ignored(alpha, api_as):
    response = api_as(alpha.owner).post("/branches", {"name": "Филиал", "is_admin": True})
    error = assert_envelope(response, 422, "invalid_input")
    assert error["fields"] == {"is_admin": "Неизвестное поле."}
    assert not Branch.objects.filter(name="Филиал").exists()


def test_a_2_mb_body_is_413(alpha, api_as):
    huge = '{"name": "' + "я" * (1024 * 1024) + '"}'
    response = api_as(alpha.owner).post("/branches", raw=huge)
    assert_envelope(response, 413, "payload_too_large")


def test_a_too_long_string_is_invalid_input(alpha, api_as):
    response = api_as(alpha.owner).post("/branches", {"name": "Ф" * 201})
    error = assert_envelope(response, 422, "invalid_input")
    assert error["fields"]["name"] == "Не больше 200 символов."


@pytest.mark.parametrize("bad", ["nul\x00byte", "surrogate\ud800"])
def test_characters_a_database_would_choke_on_are_refused(alpha, api_as, bad):
    response = api_as(alpha.owner).post("/branches", {"name": bad})
    error = assert_envelope(response, 422, "invalid_input")
    assert error["fields"]["name"] == "Недопустимые символы."


def test_hostile_markup_is_stored_as_plain_text(alpha, api_as):
    response = api_as(alpha.owner).post("/branches", {"name": "<script>alert(1)</script>"})
    assert response.status_code == 201
    assert response.json()["name"] == "<script>alert(1)</script>"
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("path", ["/branches/99999999999999999999999", "/branches/-1", "/branches/abc"])
def test_impossible_ids_are_invalid_input(alpha, api_as, path):
    assert_envelope(api_as(alpha.owner).get(path), 422, "invalid_input")


def test_absurd_dates_are_invalid_input(alpha, api_as):
    response = api_as(alpha.owner).get("/lessons", {"date_from": "0001-01-01"})
    error = assert_envelope(response, 422, "invalid_input")
    assert error["fields"]["date_from"] == "Дата вне допустимого диапазона."


def test_an_unknown_id_is_404_not_found(alpha, api_as):
    assert_envelope(api_as(alpha.owner).get("/groups/987654"), 404, "not_found")


def test_an_unknown_endpoint_is_404_in_json(alpha, api_as):
    assert_envelope(api_as(alpha.owner).get("/no/such/thing"), 404, "not_found")


def test_a_wrong_method_is_405_in_json(alpha, api_as):
    response = api_as(alpha.owner).send("put", "/branches", {})
    assert_envelope(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


def test_a_service_refusal_keeps_the_services_code(alpha, api_as):
    response = api_as(alpha.owner).post("/branches", {"name": alpha.branch.name})
    error = assert_envelope(response, 409, "duplicate")
    assert "уже есть" in error["message"]


def test_a_service_validation_is_400_with_its_code(alpha, api_as):
    today = dt.date.today()
    response = api_as(alpha.owner).post(
        "/groups",
        {
            "course": alpha.course.pk,
            "branch": alpha.branch.pk,
            "name": "Группа наоборот",
            "capacity": 8,
            "start_date": str(today),
            "end_date": str(today - dt.timedelta(days=1)),
        },
    )
    assert_envelope(response, 400, "dates")


def test_messages_are_in_english_when_asked(alpha, api_as):
    client = api_as(alpha.owner, language="en")
    response = client.post("/branches", {"name": 1})
    error = assert_envelope(response, 422, "invalid_input")
    assert error["message"] == "Check the data you entered."
    assert error["fields"]["name"] == "Must be a string."
    assert client.get("/groups/987654").json()["error"]["message"] == "Not found."


def test_messages_are_in_russian_by_default(alpha, api_as):
    response = api_as(alpha.owner).get("/groups/987654")
    assert response.json()["error"]["message"] == "Не найдено."


def test_an_unexpected_error_is_a_json_500_not_a_traceback():
    request = RequestFactory().get("/api/v1/anything")
    response = api.on_exception(request, RuntimeError("secret internals"))
    assert response.status_code == 500
    assert error_code(response) == "server_error"
    assert b"secret internals" not in response.content


def test_a_database_rule_broken_by_a_race_is_409():
    request = RequestFactory().post("/api/v1/branches")
    response = api.on_exception(request, IntegrityError("UNIQUE constraint failed"))
    assert response.status_code == 409
    assert error_code(response) == "conflict"
