import pytest

from kruzhok.lib.tenancy import (
    TenantNotActive,
    _active,  # noqa: PLC2701 — the test resets the context on purpose
    tenant_context,
)
from kruzhok.school.models import Student


@pytest.mark.django_db
def test_it_raises_when_no_organisation_is_active(alpha):
    token = _active.set(None)
    try:
        with pytest.raises(TenantNotActive):
            list(Student.objects.all())
    finally:
        _active.reset(token)


@pytest.mark.django_db
def test_it_filters_to_the_active_organisation(alpha, beta):
    with tenant_context(beta.org.id):
        names = {s.last_name for s in Student.objects.all()}
    assert names == {beta.student.last_name}


@pytest.mark.django_db
def test_a_foreign_id_is_not_found_inside_a_tenant(alpha, beta):
    with tenant_context(beta.org.id):
        assert not Student.objects.filter(pk=alpha.student.pk).exists()
