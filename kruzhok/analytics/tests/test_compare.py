"""The fair-comparison page as the owner sees it: order, estimates and intervals of a generated network."""

import datetime as dt
import re

import pytest

from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db

ROW = re.compile(
    r"<tr>\s*<td>(?P<rank>\d+)</td><td>(?:<a [^>]*>)?(?P<label>[^<]+)(?:</a>)?\s*(?P<small><span class=\"badge warn\")?.*?</td>\s*"
    r"<td><strong>(?P<shrunk>\d+) %</strong></td>\s*<td class=\"small\">(?P<low>\d+)–(?P<high>\d+) %</td>\s*"
    r"<td>(?P<raw>\d+) %</td>\s*<td>(?P<k>\d+)/(?P<n>\d+)</td>",
    re.S,
)


def _group(world, name: str, *, stayed: int, left: int):
    group = f.GroupFactory(
        organization=world.org, course=world.course, branch=world.branch, teacher=world.teacher, name=name
    )
    for i in range(stayed + left):
        dropped = i >= stayed
        f.EnrollmentFactory(
            organization=world.org,
            student=f.StudentFactory(organization=world.org, branch=world.branch),
            group=group,
            started_on=dt.date(2026, 9, 1),
            status="dropped" if dropped else "active",
            ended_on=dt.date(2026, 10, 15) if dropped else None,
        )
    return group


def _rows(html: str) -> list[dict]:
    return [{**m.groupdict(), "label": m["label"].strip()} for m in ROW.finditer(html)]


def test_the_owner_sees_a_strong_group_apart_and_a_small_perfect_one_pulled_in(alpha, client_as):
    _group(alpha, "Сильная", stayed=39, left=1)
    for i in range(3):
        _group(alpha, f"Средняя {i + 1}", stayed=22, left=8)
    _group(alpha, "Слабая", stayed=20, left=20)
    _group(alpha, "Маленькая", stayed=5, left=0)

    page = client_as(alpha.owner).get("/analytics/compare/?unit=group&metric=retention")
    assert page.status_code == 200
    html = page.content.decode()
    rows = _rows(html)
    mean = float(re.search(r"Среднее по сети \(априорное\): (\d+,\d+)", html)[1].replace(",", ".")) * 100
    by_label = {r["label"]: r for r in rows}
    assert {"Сильная", "Слабая", "Маленькая", "Средняя 1"} <= set(by_label)
    assert [int(r["rank"]) for r in rows] == list(range(1, len(rows) + 1))

    # The strong group is first and its whole 95 % interval lies above the network mean.
    strong = by_label["Сильная"]
    assert rows[0]["label"] == "Сильная"
    assert (strong["k"], strong["n"], strong["raw"]) == ("39", "40", "98")
    assert int(strong["low"]) > mean
    # The weak one is last, its interval wholly below the mean.
    weak = by_label["Слабая"]
    assert rows[-1]["label"] == "Слабая" and int(weak["high"]) < mean
    # Five of five is 100 % raw, but flagged, estimated below 100 % and ranked under the strong group.
    small = by_label["Маленькая"]
    assert small["raw"] == "100" and small["small"] and int(small["shrunk"]) < 100
    assert int(small["rank"]) > 1 and int(small["low"]) < mean
    for r in rows:
        assert int(r["low"]) <= int(r["shrunk"]) <= int(r["high"]), r
    assert re.search(r"Вес поправки — \d+:", html)
    assert "по этим данным их не различить" not in html


def test_groups_that_differ_only_by_chance_are_all_pulled_to_the_mean_and_the_page_says_so(alpha, client_as):
    for i in range(4):
        _group(alpha, f"Группа {i + 1}", stayed=15, left=5)

    html = client_as(alpha.owner).get("/analytics/compare/?unit=group&metric=retention").content.decode()
    rows = _rows(html)
    assert len(rows) == 5  # and the world's own group of one child
    assert "по этим данным их не различить" in html
    # 15 of 20 everywhere: every estimate is the network's 75 %, even the one child's 100 %.
    assert {r["shrunk"] for r in rows} == {"75"}
