import statistics
import time

from django.core.management.base import BaseCommand

from kruzhok.feedback.sentiment import analyse, model
from kruzhok.feedback.sentiment_lexicon import lexicon, lexicon_analyse
from kruzhok.feedback.sentiment_training import seed_feedback


class Command(BaseCommand):
    help = (
        "Time to classify one text with the trained model (p50/p95 per text, one thread) beside the lexicon "
        "baseline, on Kruzhok's own feedback sentences and longer messages built from them. No database needed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=5, help="passes over the texts")

    def handle(self, *args, repeat, **options):
        sentences = [text for text, _ in seed_feedback()]
        # Real feedback runs from one line to a paragraph: add 3- and 10-sentence messages.
        texts = sentences + [" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3)]
        texts += [" ".join(sentences[i : i + 10]) for i in range(0, len(sentences), 10)]
        model()  # loading is a one-off per process, not part of a text's time
        lexicon()
        mean_chars = statistics.mean(len(text) for text in texts)
        self.stdout.write(
            f"{len(texts)} texts (mean {mean_chars:.0f} characters), {repeat} passes, one thread"
        )
        for name, classify in (("lexicon baseline", lexicon_analyse), ("trained model", analyse)):
            cpu, wall = [], []
            for _ in range(repeat):
                for text in texts:
                    started_cpu, started_wall = time.thread_time(), time.perf_counter()
                    classify(text)
                    cpu.append((time.thread_time() - started_cpu) * 1000)
                    wall.append((time.perf_counter() - started_wall) * 1000)
            self.stdout.write(f"{name:18} CPU {_percentiles(cpu)} | wall {_percentiles(wall)}")
        self.stdout.write(
            "target: under 5 ms per text on one CPU core. CPU = time this thread ran (what one core spends); "
            "wall = elapsed, which also counts waiting for a core on a busy machine."
        )


def _percentiles(timings: list[float]) -> str:
    timings = sorted(timings)
    p50, p95 = timings[len(timings) // 2], timings[int(len(timings) * 0.95)]
    return f"p50 {p50:.3f} ms  p95 {p95:.3f} ms  max {timings[-1]:.3f} ms"
