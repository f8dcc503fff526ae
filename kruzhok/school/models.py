from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from kruzhok.lib.tenancy import TenantOwned


class Branch(TenantOwned):
    name = models.CharField(_("название"), max_length=200)
    address = models.CharField(_("адрес"), max_length=300, blank=True)
    managers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="managed_branches")

    class Meta(TenantOwned.Meta):
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="branch_name_unique")]

    def __str__(self) -> str:
        return self.name


class Room(TenantOwned):
    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="rooms")
    name = models.CharField(_("название"), max_length=100)
    capacity = models.PositiveIntegerField(_("вместимость"), default=12)

    class Meta(TenantOwned.Meta):
        ordering = ["branch_id", "name"]
        constraints = [models.UniqueConstraint(fields=["branch", "name"], name="room_name_unique")]

    def __str__(self) -> str:
        return self.name


class Subject(models.TextChoices):
    ROBOTICS = "robotics", _("Робототехника")
    PROGRAMMING = "programming", _("Программирование")
    ENGLISH = "english", _("Английский язык")
    CHESS = "chess", _("Шахматы")
    DRAWING = "drawing", _("Рисование")
    DANCE = "dance", _("Танцы")
    MUSIC = "music", _("Музыка")
    MATH = "math", _("Математика")
    SPORTS = "sports", _("Спорт")
    THEATRE = "theatre", _("Театр")
    SCIENCE = "science", _("Естественные науки")
    OTHER = "other", _("Другое")


class Course(TenantOwned):
    title = models.CharField(_("название"), max_length=200)
    subject = models.CharField(
        _("направление"), max_length=32, choices=Subject.choices, default=Subject.OTHER
    )
    description = models.TextField(_("описание"), blank=True)
    age_min = models.PositiveSmallIntegerField(_("возраст от"), default=5)
    age_max = models.PositiveSmallIntegerField(_("возраст до"), default=17)
    lesson_minutes = models.PositiveSmallIntegerField(_("длительность занятия, мин"), default=60)
    lessons_per_week = models.PositiveSmallIntegerField(_("занятий в неделю"), default=1)
    length_weeks = models.PositiveSmallIntegerField(_("длительность курса, недель"), default=36)
    # Placeholder until billing owns prices: the monthly price shown to staff.
    price_per_month = models.DecimalField(_("цена в месяц, ₽"), max_digits=10, decimal_places=2, default=0)
    is_active = models.BooleanField(_("активен"), default=True)

    class Meta(TenantOwned.Meta):
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "title"], name="course_title_unique"),
            models.CheckConstraint(condition=Q(age_min__lte=F("age_max")), name="course_age_range_valid"),
            models.CheckConstraint(
                condition=Q(lessons_per_week__gte=1), name="course_lessons_per_week_positive"
            ),
            models.CheckConstraint(condition=Q(price_per_month__gte=0), name="course_price_not_negative"),
        ]

    def __str__(self) -> str:
        return self.title


class Group(TenantOwned):
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="groups")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="groups")
    room = models.ForeignKey(Room, on_delete=models.SET_NULL, null=True, blank=True, related_name="groups")
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="teaching_groups",
    )
    name = models.CharField(_("название"), max_length=200)
    capacity = models.PositiveSmallIntegerField(_("мест"), default=10)
    start_date = models.DateField(_("начало"))
    end_date = models.DateField(_("окончание"))
    is_active = models.BooleanField(_("активна"), default=True)

    class Meta(TenantOwned.Meta):
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="group_name_unique"),
            models.CheckConstraint(condition=Q(start_date__lte=F("end_date")), name="group_dates_valid"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="group_capacity_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class ScheduleSlot(TenantOwned):
    """One line of a group's weekly schedule rule: weekday + start time + length."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="slots")
    weekday = models.PositiveSmallIntegerField(
        _("день недели"),
        choices=[
            (0, _("Пн")),
            (1, _("Вт")),
            (2, _("Ср")),
            (3, _("Чт")),
            (4, _("Пт")),
            (5, _("Сб")),
            (6, _("Вс")),
        ],
    )
    start_time = models.TimeField(_("начало"))
    duration_minutes = models.PositiveSmallIntegerField(_("длительность, мин"), default=60)

    class Meta(TenantOwned.Meta):
        ordering = ["group_id", "weekday", "start_time"]
        constraints = [
            models.UniqueConstraint(fields=["group", "weekday", "start_time"], name="slot_unique"),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="slot_weekday_valid"),
            models.CheckConstraint(condition=Q(duration_minutes__gte=5), name="slot_duration_valid"),
        ]


class Holiday(TenantOwned):
    """A day (or days) the organisation is closed: no lessons are generated on them."""

    name = models.CharField(_("название"), max_length=200)
    start_date = models.DateField(_("с"))
    end_date = models.DateField(_("по"))

    class Meta(TenantOwned.Meta):
        ordering = ["start_date"]
        constraints = [
            models.CheckConstraint(condition=Q(start_date__lte=F("end_date")), name="holiday_dates_valid")
        ]

    def __str__(self) -> str:
        return self.name


class LessonStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Запланировано")
    CANCELLED = "cancelled", _("Отменено")


class Lesson(TenantOwned):
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="lessons")
    # Where the lesson came from in the schedule rule; empty for one-off lessons.
    slot = models.ForeignKey(
        ScheduleSlot, on_delete=models.SET_NULL, null=True, blank=True, related_name="lessons"
    )
    origin_date = models.DateField(null=True, blank=True)
    starts_at = models.DateTimeField(_("начало"))
    ends_at = models.DateTimeField(_("окончание"))
    room = models.ForeignKey(Room, on_delete=models.SET_NULL, null=True, blank=True, related_name="lessons")
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="lessons"
    )
    status = models.CharField(
        _("статус"), max_length=16, choices=LessonStatus.choices, default=LessonStatus.SCHEDULED
    )
    topic = models.CharField(_("тема"), max_length=300, blank=True)
    homework = models.TextField(_("домашнее задание"), blank=True)
    cancel_reason = models.CharField(_("причина отмены"), max_length=300, blank=True)
    moved_from = models.DateTimeField(_("перенесено с"), null=True, blank=True)
    move_reason = models.CharField(_("причина переноса"), max_length=300, blank=True)
    # Set by the attendance app through lesson_attendance_taken(): a lesson with marks is never regenerated.
    attendance_taken_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwned.Meta):
        ordering = ["starts_at"]
        indexes = [
            models.Index(fields=["organization", "starts_at"]),
            models.Index(fields=["group", "starts_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "slot", "origin_date"],
                condition=Q(slot__isnull=False),
                name="lesson_generated_once",
            ),
            models.CheckConstraint(condition=Q(starts_at__lt=F("ends_at")), name="lesson_times_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.group} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def is_cancelled(self) -> bool:
        return self.status == LessonStatus.CANCELLED


class Student(TenantOwned):
    branch = models.ForeignKey(
        Branch, on_delete=models.SET_NULL, null=True, blank=True, related_name="students"
    )
    first_name = models.CharField(_("имя"), max_length=100)
    last_name = models.CharField(_("фамилия"), max_length=100)
    birth_date = models.DateField(_("дата рождения"))
    notes = models.TextField(_("заметки"), blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="student_profile",
    )

    class Meta(TenantOwned.Meta):
        ordering = ["last_name", "first_name"]
        indexes = [models.Index(fields=["organization", "last_name", "first_name"])]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.last_name} {self.first_name}".strip()


class Guardian(TenantOwned):
    full_name = models.CharField(_("ФИО"), max_length=200)
    # Stored normalised to digits with a leading +, so search by any spelling of the number works.
    phone = models.CharField(_("телефон"), max_length=20, blank=True)
    email = models.EmailField(_("email"), blank=True)
    telegram_username = models.CharField(_("Telegram"), max_length=64, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="guardian_profile",
    )
    calendar_token = models.CharField(max_length=64, unique=True, null=True, blank=True)

    class Meta(TenantOwned.Meta):
        ordering = ["full_name"]
        indexes = [models.Index(fields=["organization", "phone"])]

    def __str__(self) -> str:
        return self.full_name


class Relation(models.TextChoices):
    MOTHER = "mother", _("Мама")
    FATHER = "father", _("Папа")
    GRANDPARENT = "grandparent", _("Бабушка или дедушка")
    GUARDIAN = "guardian", _("Опекун")
    OTHER = "other", _("Другое")


class StudentGuardian(TenantOwned):
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="guardian_links")
    guardian = models.ForeignKey(Guardian, on_delete=models.CASCADE, related_name="student_links")
    relation = models.CharField(
        _("кем приходится"), max_length=16, choices=Relation.choices, default=Relation.MOTHER
    )
    is_primary = models.BooleanField(_("основной контакт"), default=True)

    class Meta(TenantOwned.Meta):
        ordering = ["student_id", "-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(fields=["student", "guardian"], name="student_guardian_unique")
        ]


class Consent(TenantOwned):
    """A guardian's consent to personal-data processing (152-ФЗ), kept as its own record."""

    guardian = models.ForeignKey(Guardian, on_delete=models.CASCADE, related_name="consents")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="consents")
    text_version = models.CharField(_("версия текста согласия"), max_length=32)
    granted_at = models.DateTimeField(_("дано"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    revoked_at = models.DateTimeField(_("отозвано"), null=True, blank=True)

    class Meta(TenantOwned.Meta):
        ordering = ["-granted_at"]


class EnrollmentStatus(models.TextChoices):
    TRIAL = "trial", _("Пробное")
    ACTIVE = "active", _("Занимается")
    PAUSED = "paused", _("Пауза")
    COMPLETED = "completed", _("Завершил")
    DROPPED = "dropped", _("Ушёл")
    TRANSFERRED = "transferred", _("Переведён")


OPEN_ENROLLMENT_STATUSES = (EnrollmentStatus.TRIAL, EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED)


class DropReason(models.TextChoices):
    LOST_INTEREST = "lost_interest", _("Пропал интерес")
    SCHEDULE = "schedule", _("Не подходит расписание")
    PRICE = "price", _("Дорого")
    MOVED = "moved", _("Переезд")
    HEALTH = "health", _("Здоровье")
    TEACHER = "teacher", _("Не сложилось с преподавателем")
    OTHER_ACTIVITY = "other_activity", _("Выбрал другой кружок")
    SCHOOL_LOAD = "school_load", _("Нагрузка в школе")
    OTHER = "other", _("Другое")


class Enrollment(TenantOwned):
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="enrollments")
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="enrollments")
    status = models.CharField(
        _("статус"), max_length=16, choices=EnrollmentStatus.choices, default=EnrollmentStatus.TRIAL
    )
    started_on = models.DateField(_("начало"))
    ended_on = models.DateField(_("окончание"), null=True, blank=True)
    drop_reason = models.CharField(_("причина ухода"), max_length=32, choices=DropReason.choices, blank=True)
    drop_note = models.CharField(_("комментарий"), max_length=500, blank=True)
    transferred_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="transferred_to"
    )

    class Meta(TenantOwned.Meta):
        ordering = ["-started_on", "id"]
        indexes = [models.Index(fields=["organization", "status"]), models.Index(fields=["group", "status"])]
        constraints = [
            # The same child twice in a group is impossible even under a race.
            models.UniqueConstraint(
                fields=["student", "group"],
                condition=Q(status__in=["trial", "active", "paused"]),
                name="enrollment_one_open_per_group",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=F("started_on")),
                name="enrollment_dates_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student} → {self.group}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ENROLLMENT_STATUSES


class EnrollmentEvent(TenantOwned):
    """Append-only history of an enrollment's lifecycle."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    on_date = models.DateField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)

    class Meta(TenantOwned.Meta):
        ordering = ["created_at", "id"]


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", _("Ждёт")
    ENROLLED = "enrolled", _("Зачислен")
    CANCELLED = "cancelled", _("Отменено")


class WaitlistEntry(TenantOwned):
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="waitlist")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="waitlist_entries")
    status = models.CharField(max_length=16, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING)
    note = models.CharField(_("комментарий"), max_length=300, blank=True)

    class Meta(TenantOwned.Meta):
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "student"],
                condition=Q(status="waiting"),
                name="waitlist_one_waiting_per_group",
            )
        ]
