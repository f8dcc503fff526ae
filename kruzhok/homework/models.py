from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from kruzhok.lib.tenancy import TenantOwned


class HomeworkStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Сдал")
    MISSED = "missed", _("Не сдал")


# The Russian school scale: the one parents and teachers read without a legend.
GRADE_MIN, GRADE_MAX = 1, 5


class HomeworkResult(TenantOwned):
    """What one child did with one lesson's homework: handed in (maybe late, maybe graded) or not."""

    lesson = models.ForeignKey("school.Lesson", on_delete=models.CASCADE, related_name="homework_results")
    student = models.ForeignKey("school.Student", on_delete=models.CASCADE, related_name="homework_results")
    enrollment = models.ForeignKey(
        "school.Enrollment", on_delete=models.CASCADE, related_name="homework_results"
    )
    status = models.CharField(_("домашнее задание"), max_length=16, choices=HomeworkStatus.choices)
    is_late = models.BooleanField(_("сдано с опозданием"), default=False)
    grade = models.PositiveSmallIntegerField(
        _("оценка"),
        null=True,
        blank=True,
        validators=[MinValueValidator(GRADE_MIN), MaxValueValidator(GRADE_MAX)],
    )
    comment = models.CharField(_("комментарий"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta(TenantOwned.Meta):
        ordering = ["lesson_id", "student_id"]
        indexes = [models.Index(fields=["enrollment"]), models.Index(fields=["student", "lesson"])]
        constraints = [
            # A retried or doubled submit upserts into one row: one result per child and lesson.
            models.UniqueConstraint(fields=["lesson", "student"], name="homework_one_result_per_lesson"),
            models.CheckConstraint(
                condition=models.Q(grade__isnull=True) | models.Q(grade__gte=1, grade__lte=5),
                name="homework_grade_1_to_5",
            ),
            # A grade belongs to work that was handed in.
            models.CheckConstraint(
                condition=models.Q(grade__isnull=True) | models.Q(status="submitted"),
                name="homework_grade_needs_submission",
            ),
        ]

    @property
    def journal_value(self) -> str:
        """The journal button this result shows as pressed: submitted, late or missed."""
        if self.status == HomeworkStatus.SUBMITTED and self.is_late:
            return "late"
        return self.status

    def __str__(self) -> str:
        return f"{self.student_id}@{self.lesson_id}: {self.status}"
