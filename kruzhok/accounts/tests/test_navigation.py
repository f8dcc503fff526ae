import pytest
from django.urls import NoReverseMatch, reverse

from kruzhok.accounts.models import Role
from kruzhok.accounts.navigation import MENU, SECTIONS, menu_for_role

pytestmark = pytest.mark.django_db


def flatten(items):
    for item in items:
        yield from item.get("children", [item])


@pytest.mark.parametrize("role", Role.values)
def test_every_menu_link_of_a_role_is_on_its_home_page_once(client_as, alpha, role):
    page = client_as(alpha.user(role)).get(reverse("core:home"), follow=True).content.decode()
    nav = page[page.index('class="mainnav"') : page.index("</nav>")]
    for name, label, roles in MENU:
        if role not in roles:
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        assert nav.count(f'href="{url}"') == 1, f"{role}: {label} ({url}) not in the menu once"


def test_the_owners_long_menu_folds_into_sections_after_the_everyday_links():
    items = menu_for_role(Role.OWNER)
    labels = [str(item["label"]) for item in items]
    assert labels[:4] == ["Главная", "Сегодня", "Ученики", "Группы"]
    sections = [item for item in items if "children" in item]
    assert {str(s["label"]) for s in sections} >= {"Настройки", "Деньги"}
    assert items.index(sections[0]) > max(i for i, item in enumerate(items) if "children" not in item)
    setup = next(s for s in sections if str(s["label"]) == "Настройки")
    assert "Филиалы" in [str(link["label"]) for link in setup["children"]]


def test_families_see_a_flat_menu_and_a_one_link_section_is_just_the_link():
    for role in (Role.PARENT, Role.STUDENT):
        assert all("children" not in item for item in menu_for_role(role))
    for item in menu_for_role(Role.TEACHER):
        if "children" in item:
            assert len(item["children"]) > 1
    assert all(name in {entry[0] for entry in MENU} for name in SECTIONS)


def test_the_open_section_is_marked_current(client_as, alpha):
    page = client_as(alpha.owner).get(reverse("school:branches")).content.decode()
    assert '<summary class="is-current">Настройки</summary>' in page
    assert f'href="{reverse("school:branches")}" aria-current="page"' in page
