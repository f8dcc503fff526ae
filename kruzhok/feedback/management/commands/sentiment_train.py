import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kruzhok.feedback.sentiment_classifier import MODEL_DIR
from kruzhok.feedback.sentiment_training import TEST_2016, sentirueval_2016, train


class Command(BaseCommand):
    help = (
        "Train the sentiment model from the shared data folder (SentiRuEval-2015 tweets, optionally CEDR, "
        "our own feedback sentences) and write it with its metadata (kruzhok/feedback/model/ by default)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--data", default="../shared/data", help="the folder holding ru_sentirueval_tweets/"
        )
        parser.add_argument("--out", default=str(MODEL_DIR))
        parser.add_argument(
            "--c", type=float, default=0.5, help="inverse regularisation of the logistic regression"
        )
        parser.add_argument("--cedr", action="store_true", help="add CEDR emotion sentences at half weight")
        parser.add_argument("--max-char-features", type=int, default=60_000)

    def handle(self, *args, data, out, c, cedr, max_char_features, **options):
        data_dir = Path(data)
        if not (data_dir / "ru_sentirueval_tweets").is_dir():
            raise CommandError(f"no ru_sentirueval_tweets/ in {data_dir.resolve()}")
        model, metadata = train(data_dir, c=c, cedr=cedr, max_char_features=max_char_features)
        if all((data_dir / name).is_file() for name in TEST_2016.values()):
            # Recorded beside the artefact, never used to choose anything (the recipe was tuned on 2015 only).
            figures = sentirueval_2016(data_dir, model)
            for level in ("tweet", "entity"):
                key = "sentirueval_2016" if level == "tweet" else "sentirueval_2016_entity"
                metadata[key] = {
                    domain: {method: result[level]["f1_pos_neg"] for method, result in methods.items()}
                    for domain, methods in figures.items()
                }
        model.save(Path(out), metadata=metadata)
        self.stdout.write(json.dumps(metadata, ensure_ascii=False, indent=2))
        self.stdout.write(f"wrote {out}")
