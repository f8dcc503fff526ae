"""Children, their guardians and the guardians' consent to personal-data processing.

Phones are stored normalised ("+79161234567") so a search by any spelling of a number finds them.
Consent is its own row (who gave it, for which child, which text version, who recorded it, when),
because 152-ФЗ asks us to prove consent existed before the child's data was used.
"""

import datetime as dt
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kruzhok.lib.dates import org_today
from kruzhok.school.models import Branch, Consent, Guardian, Relation, Student, StudentGuardian

# The version of the consent text a guardian agrees to; bump it when the lawyers change the text.
CONSENT_TEXT_VERSION: str = getattr(settings, "CONSENT_TEXT_VERSION", "2026-01")

NOTES_MAX = 2000
# A centre for children: an older birth date is a typo (1016, 2061 → 1961), not a pupil.
STUDENT_MAX_AGE_YEARS = 25

STUDENT_FIELDS = ("first_name", "last_name", "birth_date", "branch", "notes")
GUARDIAN_FIELDS = ("full_name", "phone", "email", "telegram_username")
_TELEGRAM_RE = re.compile(r"[A-Za-z0-9_]{5,32}")


def normalize_phone(raw: str) -> str:
    """Any spelling of a phone → "+<digits>"; Russian numbers always as +7XXXXXXXXXX.

    "8 (916) 123-45-67", "+7 916 123 45 67", "9161234567" → "+79161234567". Empty input gives "".
    The result is not validated here; see phone_validate().
    """
    raw = (raw or "").strip()
    digits = re.sub(r"\D", "", raw)
    if not digits:
        return ""
    if raw.startswith("+"):
        return "+" + digits
    if len(digits) == 11 and digits[0] in "78":
        return "+7" + digits[1:]
    if len(digits) == 10:
        return "+7" + digits
    return "+" + digits


def phone_validate(phone: str) -> None:
    if not phone:
        return
    ok = re.fullmatch(r"\+\d{10,15}", phone) and (not phone.startswith("+7") or len(phone) == 12)
    if not ok:
        raise ValidationError(
            _("Телефон «%(phone)s» не похож на номер: нужно 10 цифр после +7, например +7 916 123-45-67."),
            code="invalid_phone",
            params={"phone": phone},
        )


def phone_search_digits(query: str) -> list[str]:
    """The digit strings a phone query may match inside a stored "+7…" number.

    A leading 8 or 7 is the trunk/country prefix people type either way, so "8916…" also looks for "916…".
    """
    digits = re.sub(r"\D", "", query or "")
    if len(digits) < 3:
        return []
    variants = [digits]
    if len(digits) >= 4 and digits[0] in "78":
        variants.append(digits[1:])
    return variants


def _clean_telegram(value: str) -> str:
    value = (value or "").strip()
    for prefix in ("https://t.me/", "http://t.me/", "t.me/", "@"):
        if value.lower().startswith(prefix):
            value = value[len(prefix) :]
    if value and not _TELEGRAM_RE.fullmatch(value):
        raise ValidationError(
            _("Имя в Telegram — 5–32 латинских буквы, цифры или «_», например @olga_petrova."),
            code="invalid_telegram",
        )
    return value


def _check_birth_date(birth_date: dt.date, *, today: dt.date) -> None:
    if not isinstance(birth_date, dt.date):
        raise ValidationError(_("Укажите дату рождения."), code="birth_date_required")
    if birth_date > today:
        raise ValidationError(_("Дата рождения не может быть в будущем."), code="birth_date_future")
    oldest = today.replace(year=today.year - STUDENT_MAX_AGE_YEARS, day=min(today.day, 28))
    if birth_date < oldest:
        raise ValidationError(
            _("Дата рождения %(date)s — больше %(years)d лет назад. Проверьте год."),
            code="birth_date_too_old",
            params={"date": birth_date.strftime("%d.%m.%Y"), "years": STUDENT_MAX_AGE_YEARS},
        )


def _check_notes(notes: str) -> str:
    notes = (notes or "").strip()
    if len(notes) > NOTES_MAX:
        raise ValidationError(
            _("Заметки слишком длинные: не больше %(max)d символов."),
            code="notes_too_long",
            params={"max": NOTES_MAX},
        )
    return notes


def _check_branch(branch: Branch | None, org) -> None:
    if branch is not None and branch.organization_id != org.id:
        raise ValidationError(_("Филиал не найден."), code="wrong_org")


def student_create(
    *,
    org,
    actor,
    first_name: str,
    last_name: str,
    birth_date: dt.date,
    branch: Branch | None = None,
    notes: str = "",
) -> Student:
    _check_birth_date(birth_date, today=org_today(org))
    _check_branch(branch, org)
    student = Student(
        organization=org,
        first_name=(first_name or "").strip(),
        last_name=(last_name or "").strip(),
        birth_date=birth_date,
        branch=branch,
        notes=_check_notes(notes),
    )
    with transaction.atomic():
        student.full_clean()
        student.save()
    return student


def student_update(*, student: Student, **fields) -> Student:
    unknown = set(fields) - set(STUDENT_FIELDS)
    if unknown:
        raise ValidationError(
            _("Эти поля ученика менять нельзя: %(f)s."), code="unknown_field", params={"f": unknown}
        )
    org = student.organization
    if "birth_date" in fields:
        _check_birth_date(fields["birth_date"], today=org_today(org))
    if "branch" in fields:
        _check_branch(fields["branch"], org)
    if "notes" in fields:
        fields["notes"] = _check_notes(fields["notes"])
    for name in ("first_name", "last_name"):
        if name in fields:
            fields[name] = (fields[name] or "").strip()
    with transaction.atomic():
        for name, value in fields.items():
            setattr(student, name, value)
        student.full_clean()
        student.save()
    return student


def _clean_guardian_fields(fields: dict) -> dict:
    if "full_name" in fields:
        fields["full_name"] = (fields["full_name"] or "").strip()
    if "phone" in fields:
        raw = (fields["phone"] or "").strip()
        fields["phone"] = normalize_phone(raw)
        # "нет" or "—" typed into the phone box is a mistake, not "no phone".
        phone_validate(fields["phone"] or raw)
    if "email" in fields:
        fields["email"] = (fields["email"] or "").strip().lower()
    if "telegram_username" in fields:
        fields["telegram_username"] = _clean_telegram(fields["telegram_username"])
    return fields


def guardian_create(
    *, org, full_name: str, phone: str = "", email: str = "", telegram_username: str = ""
) -> Guardian:
    fields = _clean_guardian_fields(
        {"full_name": full_name, "phone": phone, "email": email, "telegram_username": telegram_username}
    )
    if not fields["full_name"]:
        raise ValidationError(_("Укажите ФИО представителя."), code="guardian_name_required")
    guardian = Guardian(organization=org, **fields)
    with transaction.atomic():
        guardian.full_clean()
        guardian.save()
    return guardian


def guardian_update(*, guardian: Guardian, **fields) -> Guardian:
    unknown = set(fields) - set(GUARDIAN_FIELDS)
    if unknown:
        raise ValidationError(
            _("Эти поля представителя менять нельзя: %(f)s."), code="unknown_field", params={"f": unknown}
        )
    fields = _clean_guardian_fields(dict(fields))
    if "full_name" in fields and not fields["full_name"]:
        raise ValidationError(_("Укажите ФИО представителя."), code="guardian_name_required")
    with transaction.atomic():
        for name, value in fields.items():
            setattr(guardian, name, value)
        guardian.full_clean()
        guardian.save()
    return guardian


def guardian_find_by_phone(*, org, phone: str) -> Guardian | None:
    """The organisation's guardian with this number (any spelling), so one parent of several children
    stays one record. Used by the enrol form; returns None for an empty or invalid number."""
    phone = normalize_phone(phone)
    try:
        phone_validate(phone)
    except ValidationError:
        return None
    if not phone:
        return None
    return Guardian.objects.filter(organization=org, phone=phone).order_by("id").first()


def guardian_link(
    *, student: Student, guardian: Guardian, relation: str, is_primary: bool = True
) -> StudentGuardian:
    if student.organization_id != guardian.organization_id:
        raise ValidationError(_("Представитель не найден."), code="wrong_org")
    if relation not in Relation.values:
        raise ValidationError(_("Выберите, кем представитель приходится ребёнку."), code="invalid_relation")
    link = StudentGuardian(
        organization_id=student.organization_id,
        student=student,
        guardian=guardian,
        relation=relation,
        is_primary=is_primary,
    )
    with transaction.atomic():
        if StudentGuardian.objects.filter(student=student, guardian=guardian).exists():
            raise ValidationError(
                _("%(name)s уже указан(а) как представитель этого ребёнка."),
                code="already_linked",
                params={"name": guardian.full_name},
            )
        if is_primary:
            # One primary contact per child: the person the centre calls first.
            StudentGuardian.objects.filter(student=student, is_primary=True).update(is_primary=False)
        try:
            with transaction.atomic():
                link.save()
        except IntegrityError as exc:
            raise ValidationError(
                _("%(name)s уже указан(а) как представитель этого ребёнка."),
                code="already_linked",
                params={"name": guardian.full_name},
            ) from exc
    return link


def consent_record(
    *, guardian: Guardian, student: Student, text_version: str, actor, granted_at: dt.datetime | None = None
) -> Consent:
    text_version = (text_version or "").strip()
    if not text_version:
        raise ValidationError(_("Укажите версию текста согласия."), code="text_version_required")
    if granted_at is not None and granted_at > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError(_("Согласие не может быть дано в будущем."), code="granted_in_future")
    with transaction.atomic():
        # Only the child's own guardian can consent for them.
        if not StudentGuardian.objects.filter(student=student, guardian=guardian).exists():
            raise ValidationError(
                _("%(name)s не указан(а) представителем этого ребёнка — сначала добавьте его/её."),
                code="not_guardian",
                params={"name": guardian.full_name},
            )
        consent = Consent(
            organization_id=student.organization_id,
            guardian=guardian,
            student=student,
            text_version=text_version,
            granted_at=granted_at or timezone.now(),
            recorded_by=actor,
        )
        # recorded_by may be empty for consents imported from paper records, not typed by staff.
        consent.full_clean(exclude=["recorded_by"])
        consent.save()
    return consent


def consent_revoke(*, consent: Consent) -> Consent:
    with transaction.atomic():
        current = Consent.objects.select_for_update().get(
            organization_id=consent.organization_id, pk=consent.pk
        )
        if current.revoked_at is not None:
            raise ValidationError(_("Согласие уже отозвано."), code="already_revoked")
        current.revoked_at = timezone.now()
        current.save(update_fields=["revoked_at", "updated_at"])
    consent.revoked_at = current.revoked_at
    return consent


def student_has_consent(*, student: Student) -> bool:
    """A consent that is not revoked, given by someone who is still the child's guardian."""
    return Consent.objects.filter(
        organization_id=student.organization_id,
        student=student,
        revoked_at__isnull=True,
        guardian__student_links__student=student,
    ).exists()


def guardian_attach(
    *,
    student: Student,
    actor,
    phone: str,
    relation: str,
    full_name: str = "",
    email: str = "",
    telegram_username: str = "",
    is_primary: bool = False,
    consent_text_version: str = "",
) -> StudentGuardian:
    """Adds a guardian to a child: the organisation's guardian with this phone, else a new one; records
    their consent too when `consent_text_version` is given. One transaction."""
    with transaction.atomic():
        if not (phone or "").strip():
            raise ValidationError(_("Укажите телефон представителя."), code="guardian_phone_required")
        guardian = guardian_find_by_phone(org=student.organization, phone=phone)
        if guardian is None:
            guardian = guardian_create(
                org=student.organization,
                full_name=full_name,
                phone=phone,
                email=email,
                telegram_username=telegram_username,
            )
        link = guardian_link(student=student, guardian=guardian, relation=relation, is_primary=is_primary)
        if consent_text_version:
            consent_record(guardian=guardian, student=student, text_version=consent_text_version, actor=actor)
    return link
