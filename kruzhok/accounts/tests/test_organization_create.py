import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from kruzhok.accounts.models import Membership, Organization, Role
from kruzhok.accounts.services import organization_create

pytestmark = pytest.mark.django_db

STRONG = "Kruzhok-Strong-2026"


def make(**overrides):
    fields = {"name": "Робошкола «Прогресс»", "owner_username": "director", "owner_password": STRONG}
    fields.update(overrides)
    return organization_create(**fields)


def test_it_creates_the_organisation_its_owner_and_the_owner_membership():
    org = make(owner_email="boss@example.com", owner_first_name="Анна", owner_last_name="Смирнова")

    owner = get_user_model().objects.get(username="director")
    assert owner.check_password(STRONG)
    assert (owner.email, owner.first_name, owner.last_name) == ("boss@example.com", "Анна", "Смирнова")
    membership = Membership.objects.get(organization=org, user=owner)
    assert membership.role == Role.OWNER and membership.is_active
    assert org.timezone == "Europe/Moscow"


def test_it_transliterates_a_cyrillic_name_into_the_slug():
    assert make().slug == "roboshkola-progress"


def test_it_keeps_slugs_unique():
    make()
    second = make(owner_username="director2")
    assert second.slug == "roboshkola-progress-2"


def test_a_name_without_letters_still_gets_a_slug():
    assert make(name="!!! ???").slug == "centre"


def test_it_accepts_another_time_zone():
    assert make(timezone="Asia/Novosibirsk").timezone == "Asia/Novosibirsk"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"name": "   "}, "name_required"),
        ({"name": "Ц" * 201}, "name_too_long"),
        ({"timezone": "Mars/Olympus"}, "bad_timezone"),
        ({"owner_username": ""}, "username_required"),
        ({"owner_username": "bad name!"}, "invalid_username"),
        ({"owner_email": "not-an-email"}, "invalid_email"),
        ({"owner_password": ""}, "password_required"),
        ({"owner_password": "12345678"}, "weak_password"),
        ({"owner_password": "short"}, "weak_password"),
    ],
)
def test_it_rejects_bad_input_with_a_code(overrides, code):
    with pytest.raises(ValidationError) as exc:
        make(**overrides)
    assert exc.value.code == code
    assert Organization.objects.count() == 0
    assert not get_user_model().objects.filter(username="director").exists()


def test_a_weak_password_is_explained_in_russian():
    with pytest.raises(ValidationError) as exc:
        make(owner_password="12345678")
    assert "пароль" in exc.value.messages[0].lower()


def test_a_taken_username_is_refused_whatever_its_case_and_nothing_is_created(alpha):
    before = Organization.objects.count()
    with pytest.raises(ValidationError) as exc:
        make(owner_username="ALPHA_OWNER")
    assert exc.value.code == "username_taken"
    assert "ALPHA_OWNER" in exc.value.messages[0]
    assert Organization.objects.count() == before
