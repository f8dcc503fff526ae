from collections import defaultdict
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kruzhok.feedback.sentiment import DATA, stem

HEADER = """# Kruzhok Russian sentiment lexicon: stem<TAB>weight (+ positive, - negative).
# Derived from RuSentiLex 2017 (Loukachevitch N., Levchik A. Creating a General Russian Sentiment
# Lexicon. LREC 2016), distributed by its authors for research; cite the paper. Built by
# `manage.py sentiment_lexicon_build --source <rusentilex_2017.txt>`: single words with positive or
# negative polarity; opinion/feeling words weigh 1.0, fact words 0.5; stems with both polarities dropped.
"""


class Command(BaseCommand):
    help = "Build kruzhok/feedback/data/lexicon_ru.tsv from a RuSentiLex 2017 file (run once, output is committed)."

    def add_arguments(self, parser):
        parser.add_argument("--source", required=True, help="path to rusentilex_2017.txt")
        parser.add_argument("--out", default=str(DATA / "lexicon_ru.tsv"))

    def handle(self, *args, source, out, **options):
        path = Path(source)
        if not path.is_file():
            raise CommandError(f"no such file: {source}")
        weights: dict[str, list[float]] = defaultdict(list)
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = [p.strip() for p in line.split(",")]
            if len(parts) < 5 or " " in parts[0]:
                continue
            polarity, origin = parts[3], parts[4]
            sign = {"positive": 1.0, "negative": -1.0}.get(polarity)
            if sign is None:
                continue
            weight = sign * (0.5 if origin == "fact" else 1.0)
            for word in {parts[0], parts[2]}:
                if word and " " not in word:
                    weights[stem(word)].append(weight)
        rows = []
        for key, values in sorted(weights.items()):
            if len(key) < 3 or (min(values) < 0 < max(values)):
                continue
            rows.append(f"{key}\t{max(values, key=abs):g}")
        Path(out).write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
        self.stdout.write(f"wrote {len(rows)} stems to {out}")
