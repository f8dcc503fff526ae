import pytest


@pytest.mark.django_db
def test_the_browsers_favicon_request_renders_no_page_and_sets_no_csrf_cookie(client):
    # Chromium asks for /favicon.ico beside the first page, often before that page's CSRF cookie is
    # stored. Answered with the 404 page (forms with CSRF tokens), it set a new cookie and the login
    # form that followed was refused.
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("img/favicon.svg")
    assert "csrftoken" not in response.cookies
