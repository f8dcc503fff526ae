from django.conf import settings
from django.utils.module_loading import import_string


def test_every_periodic_job_names_a_real_celery_task():
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        task = import_string(entry["task"])
        assert task.name == entry["task"], f"{name}: Celery registers it as {task.name}"
        assert entry["schedule"] > 0
