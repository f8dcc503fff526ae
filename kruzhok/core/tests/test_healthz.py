import pytest


@pytest.mark.django_db
def test_it_answers_ok_after_checking_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_it_refuses_post(client, db):
    assert client.post("/healthz").status_code == 405
