import json

import pytest
from django.core.management import CommandError, call_command


def test_it_prints_and_writes_the_figures_for_a_labelled_csv(tmp_path, capsys):
    data = tmp_path / "labelled.csv"
    data.write_text(
        "text,label\nВсё отлично спасибо,positive\nУжасно скучно,negative\nЗанятие в четверг,neutral\n"
        "Очень плохо,positive\n",
        encoding="utf-8",
    )
    out = tmp_path / "metrics.json"
    call_command("sentiment_eval", "--csv", str(data), "--json", str(out))
    assert "accuracy=0.7500" in capsys.readouterr().out
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["accuracy"] == 0.75
    assert set(figures["per_class"]) == {"negative", "neutral", "positive"}
    assert figures["per_class"]["positive"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667}


def test_a_csv_without_the_columns_is_a_clear_error(tmp_path):
    data = tmp_path / "bad.csv"
    data.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(CommandError, match="columns not found"):
        call_command("sentiment_eval", "--csv", str(data))
