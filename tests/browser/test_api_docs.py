"""The API's Swagger page works offline: every file it loads comes from our own server."""

from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import DESKTOP, PHONE, login

pytestmark = pytest.mark.django_db(transaction=True)


def open_docs(page, username: str) -> None:
    # The first page of a session may wait for the live server to warm up on a busy machine.
    page.goto("/accounts/login/", timeout=60_000)
    login(page, username)
    # Swagger UI is a 1.4 MB script that builds the page from the 90 KB schema: slow on a busy machine.
    page.goto("/api/v1/docs", timeout=60_000)
    page.get_by_text("/api/v1/groups").first.wait_for(timeout=60_000)
    # Swagger keeps fetching after it renders; let it finish before the test's database goes away.
    page.wait_for_load_state("networkidle", timeout=60_000)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_api_docs_load_without_the_internet(new_page, snap, live_server, alpha, viewport):
    page = new_page(viewport=viewport)
    hosts = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    open_docs(page, alpha.owner.username)
    assert page.get_by_text("Kruzhok API").first.is_visible()
    assert hosts == {urlsplit(live_server.url).netloc}
    snap(page, f"api-docs-{'phone' if viewport is PHONE else 'desktop'}")


def test_the_logged_in_browser_can_try_the_api_from_the_docs(new_page, alpha):
    page = new_page(viewport=DESKTOP)
    open_docs(page, alpha.owner.username)
    answer = page.evaluate(
        """async () => {
            const response = await fetch('/api/v1/organization', {credentials: 'same-origin'});
            return [response.status, (await response.json()).slug];
        }"""
    )
    assert answer == [200, "alpha"]
