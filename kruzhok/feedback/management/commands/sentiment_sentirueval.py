import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kruzhok.feedback.sentiment_classifier import MODEL_DIR, SentimentModel
from kruzhok.feedback.sentiment_training import TEST_2016, sentirueval_2016

# Results_SentiRuEval_2016.xlsx (F-macro, F-micro): the organisers' baseline and the best run of each domain.
PUBLISHED = {
    "banks": {"organisers' baseline": (0.1885, 0.3503), "best participant (2_k)": (0.5517, 0.5881)},
    "telecom": {"organisers' baseline": (0.3146, 0.5895), "best participant (2_k)": (0.5594, 0.6569)},
}


class Command(BaseCommand):
    help = (
        "SentiRuEval-2016 test: the model (trained on 2015 data) on the 2016 etalons of banks and telecom, "
        "with the official metric (mean F1 of positive and negative) beside a majority and a lexicon baseline."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--data", default="../shared/data", help="the folder holding ru_sentirueval_tweets/"
        )
        parser.add_argument(
            "--model", default=str(MODEL_DIR), help="a model directory written by sentiment_train"
        )
        parser.add_argument("--json", dest="json_out", help="also write the figures to this file")

    def handle(self, *args, data, model, json_out=None, **options):
        data_dir = Path(data)
        for name in TEST_2016.values():
            if not (data_dir / name).is_file():
                raise CommandError(f"no such file: {data_dir / name}")
        try:
            trained = SentimentModel.load(Path(model))
        except (OSError, KeyError, ValueError) as error:
            raise CommandError(f"no usable model in {model}: {error}") from error
        figures = sentirueval_2016(data_dir, trained)
        self.stdout.write(
            "SentiRuEval-2016: trained on 2015 banks + telecom, tested on the 2016 etalons.\n"
            "F-macro = mean of the F1 of positive and of negative (the official metric), F-micro = one F1 over "
            "both; tweet level (tweets whose companies disagree left out), and entity level."
        )
        self.stdout.write(
            f"{'domain':8} {'method':38} {'tweets':>6} {'F-macro':>8} {'F-micro':>8} {'entity F-macro':>15}"
        )
        for domain, methods in figures.items():
            for method, result in methods.items():
                tweet, entity = result["tweet"], result["entity"]
                self.stdout.write(
                    f"{domain:8} {method:38} {tweet['n']:>6} {tweet['f1_pos_neg']:>8.4f} "
                    f"{tweet['f1_micro_pos_neg']:>8.4f} {entity['f1_pos_neg']:>15.4f}"
                )
            for source, (macro, micro) in PUBLISHED[domain].items():
                self.stdout.write(
                    f"{domain:8} {'published: ' + source:38} {'':>6} {macro:>8.4f} {micro:>8.4f}"
                )
        if json_out:
            Path(json_out).parent.mkdir(parents=True, exist_ok=True)
            Path(json_out).write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
