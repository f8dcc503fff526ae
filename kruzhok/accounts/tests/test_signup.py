import pytest
from django.contrib.auth import get_user_model

from kruzhok.accounts.models import Membership, Organization, Role
from kruzhok.accounts.selectors import SESSION_ORG_KEY

pytestmark = pytest.mark.django_db

URL = "/accounts/signup/"
STRONG = "Kruzhok-Strong-2026"


def form(**overrides):
    data = {
        "org_name": "Робошкола",
        "timezone": "Europe/Moscow",
        "first_name": "Анна",
        "last_name": "Смирнова",
        "username": "anna",
        "email": "anna@example.com",
        "password1": STRONG,
        "password2": STRONG,
    }
    data.update(overrides)
    return data


def test_the_page_offers_moscow_time_by_default(client):
    response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Регистрация центра" in page
    assert '<option value="Europe/Moscow" selected>' in page


def test_the_login_page_links_to_sign_up(client):
    assert URL in client.get("/accounts/login/").content.decode()


def test_signing_up_creates_the_centre_and_logs_the_owner_in(client):
    response = client.post(URL, form())

    assert response.status_code == 302 and response["Location"] == "/"
    org = Organization.objects.get(name="Робошкола")
    owner = get_user_model().objects.get(username="anna")
    assert Membership.objects.get(organization=org, user=owner).role == Role.OWNER
    assert client.session[SESSION_ORG_KEY] == org.id
    home = client.get("/", follow=True)
    assert home.status_code == 200
    assert "Робошкола" in home.content.decode()


def test_a_signed_in_owner_of_another_centre_lands_in_the_new_one(client_as, alpha):
    client = client_as(alpha.owner)
    client.post(URL, form())
    home = client.get("/", follow=True)
    assert '<span class="org-name">Робошкола</span>' in home.content.decode()


def test_a_taken_username_is_explained(client, alpha):
    response = client.post(URL, form(username="alpha_owner"))
    assert response.status_code == 200
    assert "уже занят" in response.content.decode()
    assert not Organization.objects.filter(name="Робошкола").exists()


def test_mismatched_passwords_are_explained(client):
    response = client.post(URL, form(password2="Something-else-2026"))
    assert "Пароли не совпадают" in response.content.decode()
    assert not Organization.objects.exists()


@pytest.mark.parametrize("password", ["12345678", "qwerty", "anna"])
def test_a_weak_password_is_explained(client, password):
    response = client.post(URL, form(password1=password, password2=password))
    assert response.status_code == 200
    assert response.context["form"].errors["password1"]
    assert "пароль" in response.content.decode().lower()
    assert not Organization.objects.exists()


@pytest.mark.parametrize("field", ["org_name", "username", "first_name", "password1", "email"])
def test_a_missing_field_is_required(client, field):
    response = client.post(URL, form(**{field: ""}))
    assert response.status_code == 200
    assert "Обязательное поле" in response.content.decode()
    assert not Organization.objects.exists()


def test_a_blank_centre_name_is_refused(client):
    response = client.post(URL, form(org_name="    "))
    assert response.context["form"].errors["org_name"]
    assert not Organization.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("timezone", "Mars/Olympus"), ("org_name", "Ц" * 10_000), ("username", "bad name!"), ("email", "nope")],
)
def test_bad_input_is_a_form_error_not_a_crash(client, field, value):
    response = client.post(URL, form(**{field: value}))
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert not Organization.objects.exists()


def test_a_hostile_centre_name_is_stored_as_text_and_escaped(client):
    hostile = "<script>alert(1)</script>"
    client.post(URL, form(org_name=hostile))

    org = Organization.objects.get()
    assert org.name == hostile
    page = client.get("/", follow=True).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert hostile not in page
