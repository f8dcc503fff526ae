from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kruzhok.lib.tenancy import TenantOwned


class AttendanceStatus(models.TextChoices):
    PRESENT = "present", _("Был")
    LATE = "late", _("Опоздал")
    ABSENT = "absent", _("Не был")
    EXCUSED = "excused", _("Уважительная")


class AttendanceMark(TenantOwned):
    lesson = models.ForeignKey("school.Lesson", on_delete=models.CASCADE, related_name="marks")
    student = models.ForeignKey("school.Student", on_delete=models.CASCADE, related_name="attendance_marks")
    enrollment = models.ForeignKey(
        "school.Enrollment", on_delete=models.CASCADE, related_name="attendance_marks"
    )
    status = models.CharField(_("отметка"), max_length=16, choices=AttendanceStatus.choices)
    comment = models.CharField(_("комментарий"), max_length=300, blank=True)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta(TenantOwned.Meta):
        ordering = ["lesson_id", "student_id"]
        indexes = [models.Index(fields=["student", "lesson"]), models.Index(fields=["enrollment"])]
        constraints = [
            # Two teachers marking at once upsert into the same row instead of duplicating it.
            models.UniqueConstraint(fields=["lesson", "student"], name="attendance_one_mark_per_lesson"),
        ]
