from kruzhok.analytics import charts


def test_a_line_chart_is_labelled_and_escapes_hostile_text():
    svg = charts.line_chart(
        [charts.Series("<script>x</script>", [(0, 0.5), (1, 0.7)], band=[(0, 0.4, 0.6), (1, 0.6, 0.8)])],
        label='Посещаемость "<b>"',
        x_labels=[(0, "09.26"), (1, "10.26")],
    )
    assert 'role="img"' in svg and "<title>Посещаемость" in svg
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "<polygon" in svg  # the band


def test_bars_and_empty_charts_render():
    assert svg_count(charts.bar_chart([("a", 1), ("b", 3)], label="x"), "<rect") == 2
    assert "—" in charts.bar_chart([], label="пусто")
    assert "—" in charts.line_chart([], label="пусто")


def test_a_step_curve_holds_its_value_until_the_next_event():
    svg = charts.line_chart(
        [charts.Series("S", [(0, 1.0), (10, 0.5)], step=True)], label="s", x_min=0, x_max=10, y_max=1.0
    )
    points = svg.split('points="')[1].split('"')[0].split()
    assert len(points) == 3  # (0,1) → (10,1) → (10,0.5)


def svg_count(svg: str, tag: str) -> int:
    return svg.count(tag)


def test_gridlines_fall_on_round_values():
    import re

    churn = charts.bar_chart(
        [("09.26", 4.2), ("10.26", 10.0), ("11.26", 11.7)], label="c", y_format=lambda v: f"{v:g} %"
    )
    assert re.findall(r'class="chart-tick">([^<]+ %)<', churn) == ["0 %", "3 %", "6 %", "9 %", "12 %"]
    revenue = charts.bar_chart(
        [("09.26", 560_000), ("10.26", 440_000)], label="r", y_format=lambda v: f"{v:g}"
    )
    assert re.findall(r'class="chart-tick">(\d+)<', revenue)[:5] == [
        "0",
        "150000",
        "300000",
        "450000",
        "600000",
    ]


def test_small_axes_step_by_whole_numbers():
    import re

    churn = charts.bar_chart([("09.26", 2.0), ("10.26", 5.9)], label="c", y_format=lambda v: f"{v:.0f} %")
    assert re.findall(r'class="chart-tick">([^<]+ %)<', churn) == ["0 %", "2 %", "4 %", "6 %", "8 %"]
