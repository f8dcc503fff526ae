"""Russian is the source language; English comes from locale/en. These tests keep the English side
whole: pages switch, errors switch, and the shipped catalog (.po and the compiled .mo) is complete.

When a test here fails after you added or changed a Russian string in a core app, regenerate the
catalog from the repository root, translate every new or "fuzzy" entry in
locale/en/LC_MESSAGES/django.po (and drop the fuzzy flag), then compile it:

    .venv/bin/python manage.py makemessages -l en --no-obsolete -i ".venv/*" -i "tests/*" \
        -i "kruzhok/billing/*" -i "kruzhok/risk/*" -i "kruzhok/gamification/*" -i "kruzhok/messaging/*" \
        -i "kruzhok/feedback/*" -i "kruzhok/demo/*" -i "kruzhok/api/*" -i "templates/billing/*" \
        -i "templates/risk/*" -i "templates/gamification/*" -i "templates/messaging/*" -i "templates/feedback/*"
    .venv/bin/python manage.py compilemessages -l en -i .venv -i "kruzhok/*"

Commit both django.po and django.mo: the .mo is shipped so a fresh machine needs no gettext tools.
"""

import datetime as dt
import functools
import gettext as gnu_gettext
import re
import shutil
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from kruzhok.school.services import lesson_changes
from kruzhok.school.templatetags.people_tags import age

pytestmark = pytest.mark.django_db

CATALOG = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"
COMPILED = CATALOG.with_suffix(".mo")
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|\{\w+\}|<[^>]+>")
CYRILLIC_WORD = re.compile(r"[А-Яа-яЁё]+")

# Apps that other teams translate in their own catalogs; the core catalog does not cover them.
FOREIGN_APPS = [
    "billing",
    "risk",
    "gamification",
    "messaging",
    "feedback",
    "demo",
    "api",
    "learning",
    "analytics",
]
CORE_IGNORE = (
    [".venv/*", "tests/*", "*/tests/*", "*/migrations/*"]
    + [f"kruzhok/{app}/*" for app in FOREIGN_APPS]
    + [f"templates/{app}/*" for app in FOREIGN_APPS]
)


def english(client):
    """Switches the client to English the way the language selector in base.html does."""
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302
    return client


def page_text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# Switching


def test_russian_is_the_default(client):
    page = page_text(client.get(reverse("accounts:login")))
    assert 'lang="ru"' in page
    assert "Вход в Кружок" in page


def test_the_selector_switches_the_login_page_to_english(client):
    page = page_text(english(client).get(reverse("accounts:login")))
    assert 'lang="en"' in page
    assert "Log in to Kruzhok" in page
    assert "Вход в Кружок" not in page


def test_the_choice_can_be_switched_back_to_russian(client):
    english(client)
    client.post("/i18n/setlang/", {"language": "ru", "next": "/"})
    assert "Вход в Кружок" in page_text(client.get(reverse("accounts:login")))


def test_an_unknown_language_keeps_russian(client):
    client.post("/i18n/setlang/", {"language": "xx", "next": "/"})
    assert "Вход в Кружок" in page_text(client.get(reverse("accounts:login")))


def test_a_wrong_password_is_explained_in_english(client, alpha):
    response = english(client).post(
        reverse("accounts:login"), {"username": "alpha_owner", "password": "wrong"}
    )
    page = page_text(response)
    assert "Please enter a correct username and password" in page


def test_the_owner_dashboard_is_in_english(client_as, alpha):
    client = english(client_as(alpha.owner))
    page = page_text(client.get(reverse("school:dashboard")))
    assert "Overview" in page
    assert "Today&#x27;s lessons" in page or "Today's lessons" in page
    assert "Log out" in page
    # The weekday after the date starts with a capital in English (Russian writes it in lower case).
    assert ", " + timezone.localdate().strftime("%A") + "<" in page
    assert "Обзор" not in page


def test_the_teachers_today_page_is_in_english(client_as, alpha):
    page = page_text(english(client_as(alpha.teacher)).get(reverse("attendance:today")))
    assert "Today" in page
    assert "Previous day" in page
    assert alpha.group.name in page
    assert "Занятия дня" not in page


def test_the_parents_schedule_is_in_english(client_as, alpha):
    page = page_text(english(client_as(alpha.parent)).get(reverse("family:schedule")))
    assert "Schedule" in page
    assert "Next week" in page
    assert "Неделя вперёд" not in page


def test_a_service_error_on_the_student_form_is_in_english(client_as, alpha):
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    data = {
        "last_name": "Соколова",
        "first_name": "Вера",
        "birth_date": tomorrow,
        "branch": alpha.branch.pk,
        "guardian_phone": "+7 905 123-45-67",
        "guardian_full_name": "Соколова Ирина",
        "relation": "mother",
        "consent": "on",
        "status": "trial",
    }
    response = english(client_as(alpha.manager)).post(reverse("school:student_create"), data)
    page = page_text(response)
    assert "The date of birth cannot be in the future." in page
    assert "Дата рождения не может быть в будущем" not in page


def test_a_service_error_from_the_journal_is_in_english(client_as, alpha):
    starts = timezone.localtime(alpha.lesson.starts_at)
    same_time = {"date": starts.date().isoformat(), "time": starts.strftime("%H:%M"), "reason": "Болеет"}
    response = english(client_as(alpha.teacher)).post(
        reverse("attendance:lesson_move", args=[alpha.lesson.pk]), same_time
    )
    assert response.status_code == 400
    assert "The new time is the same as the old one." in response.content.decode()


def test_a_service_error_keeps_its_parameters_in_english(alpha):
    with translation.override("en"), pytest.raises(ValidationError) as error:
        lesson_changes.lesson_cancel(lesson=alpha.lesson, actor=alpha.teacher, reason="x" * 10_000)
    assert re.fullmatch(r"The reason is too long: at most \d+ characters\.", error.value.messages[0])


def test_an_age_has_english_plurals(alpha):
    today = timezone.localdate()
    one, ten = dt.date(today.year - 1, 1, 1), dt.date(today.year - 10, 1, 1)
    with translation.override("en"):
        assert (age(one), age(ten)) == ("1 year", "10 years")
    with translation.override("ru"):
        assert (age(one), age(ten)) == ("1 год", "10 лет")


# No Russian left on English pages

PAGES = [
    ("owner", "school:dashboard", None),
    ("owner", "school:branches", None),
    ("owner", "school:branch_create", None),
    ("owner", "school:courses", None),
    ("owner", "school:course_create", None),
    ("owner", "school:groups", None),
    ("owner", "school:group_create", None),
    ("owner", "school:group_detail", "group"),
    ("owner", "school:group_edit", "group"),
    ("owner", "school:holidays", None),
    ("owner", "accounts:staff", None),
    ("manager", "school:students", None),
    ("manager", "school:student_create", None),
    ("manager", "school:student_detail", "student"),
    ("manager", "school:student_edit", "student"),
    ("manager", "school:guardian_add", "student"),
    ("manager", "school:guardian_edit", "guardian"),
    ("manager", "school:consent_create", "student"),
    ("manager", "school:enrollment_create", "student"),
    ("manager", "school:enrollment_transition", "enrollment"),
    ("manager", "school:enrollment_transfer", "enrollment"),
    ("manager", "school:waitlist", None),
    ("teacher", "attendance:today", None),
    ("teacher", "attendance:lesson", "lesson"),
    ("teacher", "attendance:student_history", "student"),
    ("parent", "family:home", None),
    ("parent", "family:schedule", None),
    ("parent", "family:attendance", None),
    ("parent", "family:child", "student"),
    ("student", "family:home", None),
    ("student", "family:schedule", None),
]


def data_words(world) -> set[str]:
    """Russian words that come from the test data (names, titles), not from the interface."""
    texts = [
        world.org.name,
        world.branch.name,
        world.branch.address,
        world.other_branch.name,
        world.room.name,
        world.course.title,
        world.course.description,
        world.group.name,
        world.lesson.topic,
        world.student.full_name,
        world.guardian.full_name,
    ]
    for user in (world.owner, world.manager, world.teacher, world.parent, world.student_user):
        texts += [user.first_name, user.last_name]
    return {word for text in texts if text for word in CYRILLIC_WORD.findall(str(text))}


@functools.cache
def foreign_words() -> frozenset[str]:
    """Words of parts other apps render into core pages (menus, cards); they have their own catalogs."""
    root = Path(settings.BASE_DIR)
    words: set[str] = set()
    for app in FOREIGN_APPS:
        for folder in (root / "kruzhok" / app, root / "templates" / app):
            for path in folder.rglob("*") if folder.exists() else []:
                if path.suffix in (".py", ".html") and "tests" not in path.parts:
                    words |= set(CYRILLIC_WORD.findall(path.read_text(encoding="utf-8")))
    return frozenset(words)


@pytest.mark.parametrize(("role", "url_name", "arg"), PAGES)
def test_an_english_page_has_no_russian_interface_text(client_as, alpha, role, url_name, arg):
    objects = {
        "group": alpha.group,
        "student": alpha.student,
        "guardian": alpha.guardian,
        "enrollment": alpha.enrollment,
        "lesson": alpha.lesson,
    }
    url = reverse(url_name, args=[objects[arg].pk] if arg else [])
    page = page_text(english(client_as(alpha.user(role))).get(url))
    body = re.sub(r"<script.*?</script>", "", page, flags=re.S)
    left = set(CYRILLIC_WORD.findall(body)) - data_words(alpha) - foreign_words()
    assert not left, f"untranslated on {url}: {sorted(left)}"


# The catalog


@pytest.fixture(scope="module")
def catalog():
    return polib.pofile(str(CATALOG))


def test_the_catalog_declares_english_plurals(catalog):
    assert catalog.metadata["Language"] == "en"
    assert catalog.metadata["Plural-Forms"] == "nplurals=2; plural=(n != 1);"


def test_every_string_is_translated_and_none_is_fuzzy(catalog):
    fuzzy = [e.msgid for e in catalog if "fuzzy" in e.flags]
    assert not fuzzy, fuzzy
    empty = [
        e.msgid
        for e in catalog
        if (not all(e.msgstr_plural.get(i) for i in (0, 1)) if e.msgid_plural else not e.msgstr)
    ]
    assert not empty, f"{len(empty)} untranslated: {empty[:10]}"
    assert catalog.percent_translated() == 100


def test_every_placeholder_and_tag_survives_translation(catalog):
    broken = []
    for entry in catalog:
        wanted = sorted(PLACEHOLDER.findall(entry.msgid))
        if entry.msgid_plural:
            translations = list(entry.msgstr_plural.values())
            wanted = sorted(PLACEHOLDER.findall(entry.msgid_plural))
        else:
            translations = [entry.msgstr]
        broken += [(entry.msgid, t) for t in translations if sorted(PLACEHOLDER.findall(t)) != wanted]
    assert not broken, broken


def test_no_english_string_is_left_in_russian(catalog):
    # "Русский" names the language in its own language on purpose.
    leftovers = [e.msgid for e in catalog if CYRILLIC_WORD.search(e.msgstr) and e.msgid != "Русский"]
    assert not leftovers, leftovers


def test_the_shipped_mo_matches_the_po(catalog):
    """The .mo is committed so a fresh machine needs no gettext tools; it must be recompiled with the .po."""
    with COMPILED.open("rb") as handle:
        compiled = gnu_gettext.GNUTranslations(handle)
    stale = []
    for entry in catalog:
        if entry.msgid_plural:
            got = compiled.ngettext(entry.msgid, entry.msgid_plural, 2)
            want = entry.msgstr_plural[1]
        else:
            got, want = compiled.gettext(entry.msgid), entry.msgstr
        if got != want:
            stale.append(entry.msgid)
    assert not stale, f"run compilemessages: {len(stale)} entries differ, e.g. {stale[:5]}"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs gettext tools (apt-get install gettext)")
def test_the_catalog_covers_every_string_in_the_core_apps(catalog, tmp_path, monkeypatch, settings):
    """Extracts the strings again from a copy of the code and checks each one is in the catalog."""
    root = Path(settings.BASE_DIR)
    skip = shutil.ignore_patterns("__pycache__", "tests", "migrations", "locale", *FOREIGN_APPS)
    for folder in ("config", "kruzhok", "templates"):
        shutil.copytree(root / folder, tmp_path / folder, ignore=skip)
    (tmp_path / "locale").mkdir()
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    monkeypatch.chdir(tmp_path)
    call_command("makemessages", locale=["en"], ignore_patterns=CORE_IGNORE, verbosity=0)
    fresh = polib.pofile(str(tmp_path / "locale" / "en" / "LC_MESSAGES" / "django.po"))
    known = {(e.msgctxt, e.msgid) for e in catalog}
    missing = [e.msgid for e in fresh if (e.msgctxt, e.msgid) not in known]
    assert not missing, f"not in locale/en (run makemessages and translate): {missing}"
