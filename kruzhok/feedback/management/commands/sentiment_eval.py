import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kruzhok.feedback.evaluation import evaluate, read_csv, read_sentirueval_xml


class Command(BaseCommand):
    help = "Accuracy, macro-F1 and per-class figures of the sentiment model on a labelled CSV (or SentiRuEval XML)."

    def add_arguments(self, parser):
        parser.add_argument("--csv", help="CSV with a text and a label column (negative/neutral/positive)")
        parser.add_argument("--sentirueval-xml", help="a SentiRuEval XML dump instead of a CSV")
        parser.add_argument("--text-column", default="text")
        parser.add_argument("--label-column", default="label")
        parser.add_argument("--json", help="also write the figures to this file")

    def handle(self, *args, **options):
        try:
            if options["csv"]:
                pairs = read_csv(
                    Path(options["csv"]),
                    text_column=options["text_column"],
                    label_column=options["label_column"],
                )
            elif options["sentirueval_xml"]:
                pairs = read_sentirueval_xml(Path(options["sentirueval_xml"]))
            else:
                raise CommandError("give --csv or --sentirueval-xml")
        except (OSError, ValueError) as error:
            raise CommandError(str(error)) from error
        if not pairs:
            raise CommandError("no labelled rows found")
        result = evaluate(pairs)
        self.stdout.write(
            f"n={result['n']} accuracy={result['accuracy']:.4f} macro_f1={result['macro_f1']:.4f} "
            f"f1(pos,neg)={result['f1_pos_neg']:.4f} f1_micro(pos,neg)={result['f1_micro_pos_neg']:.4f}"
        )
        for label, figures in result["per_class"].items():
            self.stdout.write(
                f"  {label:9} precision={figures['precision']:.4f} recall={figures['recall']:.4f} f1={figures['f1']:.4f}"
            )
        if options["json"]:
            Path(options["json"]).write_text(
                json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8"
            )
