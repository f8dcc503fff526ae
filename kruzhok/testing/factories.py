"""factory_boy factories for the school graph. Tests build only what they need."""

import datetime as dt

import factory
from django.contrib.auth import get_user_model

from kruzhok.accounts.models import Membership, Organization, Role
from kruzhok.school import models as school

PASSWORD = "kruzhok-demo"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Центр №{n}")
    slug = factory.Sequence(lambda n: f"centre-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Иван"
    last_name = factory.Sequence(lambda n: f"Иванов{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805 — factory_boy hook signature
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.OWNER


class TenantFactory(factory.django.DjangoModelFactory):
    organization = factory.SubFactory(OrganizationFactory)

    class Meta:
        abstract = True


class BranchFactory(TenantFactory):
    class Meta:
        model = school.Branch

    name = factory.Sequence(lambda n: f"Филиал {n}")
    address = "ул. Ленина, 1"


class RoomFactory(TenantFactory):
    class Meta:
        model = school.Room

    branch = factory.SubFactory(BranchFactory, organization=factory.SelfAttribute("..organization"))
    name = factory.Sequence(lambda n: f"Кабинет {n}")


class CourseFactory(TenantFactory):
    class Meta:
        model = school.Course

    title = factory.Sequence(lambda n: f"Робототехника {n}")
    subject = school.Subject.ROBOTICS
    age_min = 7
    age_max = 12


class GroupFactory(TenantFactory):
    class Meta:
        model = school.Group

    course = factory.SubFactory(CourseFactory, organization=factory.SelfAttribute("..organization"))
    branch = factory.SubFactory(BranchFactory, organization=factory.SelfAttribute("..organization"))
    name = factory.Sequence(lambda n: f"Группа {n}")
    capacity = 10
    start_date = dt.date(2026, 9, 1)
    end_date = dt.date(2027, 5, 31)


class ScheduleSlotFactory(TenantFactory):
    class Meta:
        model = school.ScheduleSlot

    group = factory.SubFactory(GroupFactory, organization=factory.SelfAttribute("..organization"))
    weekday = 1
    start_time = dt.time(16, 0)
    duration_minutes = 60


class StudentFactory(TenantFactory):
    class Meta:
        model = school.Student

    first_name = factory.Iterator(["Маша", "Петя", "Аня", "Дима", "Соня"])
    last_name = factory.Sequence(lambda n: f"Смирнов{n}")
    birth_date = dt.date(2016, 3, 14)


class GuardianFactory(TenantFactory):
    class Meta:
        model = school.Guardian

    full_name = factory.Sequence(lambda n: f"Смирнова Ольга {n}")
    phone = factory.Sequence(lambda n: f"+7916{n:07d}")
    email = factory.Sequence(lambda n: f"parent{n}@example.ru")


class LessonFactory(TenantFactory):
    class Meta:
        model = school.Lesson

    group = factory.SubFactory(GroupFactory, organization=factory.SelfAttribute("..organization"))
    starts_at = factory.LazyFunction(lambda: dt.datetime(2026, 11, 10, 13, 0, tzinfo=dt.UTC))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + dt.timedelta(hours=1))


class EnrollmentFactory(TenantFactory):
    class Meta:
        model = school.Enrollment

    student = factory.SubFactory(StudentFactory, organization=factory.SelfAttribute("..organization"))
    group = factory.SubFactory(GroupFactory, organization=factory.SelfAttribute("..organization"))
    status = school.EnrollmentStatus.ACTIVE
    started_on = dt.date(2026, 9, 1)
