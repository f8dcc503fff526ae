"""The API's Swagger page works offline: every file it loads comes from our own server."""

from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import DESKTOP, PHONE, login

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_api_docs_load_without_the_internet(new_page, snap, live_server, alpha, viewport):
    page = new_page(viewport=viewport)
    hosts = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    login(page, alpha.owner.username)
    page.goto("/api/v1/docs")
    page.get_by_text("/api/v1/groups").first.wait_for()
    assert page.get_by_text("Kruzhok API").first.is_visible()
    assert hosts == {urlsplit(live_server.url).netloc}
    snap(page, f"api-docs-{'phone' if viewport is PHONE else 'desktop'}")


def test_the_logged_in_browser_can_try_the_api_from_the_docs(new_page, alpha):
    page = new_page(viewport=DESKTOP)
    login(page, alpha.owner.username)
    page.goto("/api/v1/docs")
    answer = page.evaluate(
        """async () => {
            const response = await fetch('/api/v1/organization', {credentials: 'same-origin'});
            return [response.status, (await response.json()).slug];
        }"""
    )
    assert answer == [200, "alpha"]
