"""The shape most staff form pages share: a valid POST runs one service; a success answers with a
message and a redirect, a refusal of the service is shown with the form again."""

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render


class FormOutcome(NamedTuple):
    # The redirect after a success; None means "draw the form page" (a GET, a form error, a refusal).
    response: HttpResponse | None
    # The service's refusal as one text, for a page that shows it above the form; "" when there was
    # none or when `show_refusal` already put it on the form.
    refusal: str


def refusal_text(error: ValidationError) -> str:
    return " ".join(error.messages)


def add_service_errors(
    form: forms.BaseForm,
    exc: ValidationError,
    by_code: Mapping[str, str],
    by_field: Mapping[str, str] | None = None,
) -> None:
    """Puts a service's ValidationError on the form: a code in `by_code` next to its field, a
    full_clean() error next to its field (renamed by `by_field`), anything else above the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            target = (by_field or {}).get(field, field)
            form.add_error(target if target in form.fields else None, errors)
        return
    for error in exc.error_list:
        target = by_code.get(error.code)
        form.add_error(target if target in form.fields else None, error)


def form_submit(
    request: HttpRequest,
    form: forms.BaseForm,
    save: Callable[[Any], Any],
    *,
    success: str | Callable[[Any], str],
    next_url: str | Callable[[Any], str],
    show_refusal: Callable[[Any, ValidationError], None] | None = None,
) -> FormOutcome:
    """On a valid POST calls `save(form)` (one service call). If it succeeds, adds the `success`
    message and redirects to `next_url` (a URL name or path; either may be a function of what `save`
    returned). If the service refuses with a ValidationError, `show_refusal(form, error)` puts it on
    the form, or without it the refusal comes back as text. A GET or an invalid form gives
    FormOutcome(None, "") and the page shows the form with its own errors."""
    if request.method != "POST" or not form.is_valid():
        return FormOutcome(None, "")
    try:
        saved = save(form)
    except ValidationError as exc:
        if show_refusal is None:
            return FormOutcome(None, refusal_text(exc))
        show_refusal(form, exc)
        return FormOutcome(None, "")
    messages.success(request, success(saved) if callable(success) else success)
    return FormOutcome(redirect(next_url(saved) if callable(next_url) else next_url), "")


def form_page(
    request: HttpRequest,
    form: forms.BaseForm,
    save: Callable[[Any], Any],
    *,
    template: str,
    context: Mapping[str, Any] | None = None,
    success: str | Callable[[Any], str],
    next_url: str | Callable[[Any], str],
    show_refusal: Callable[[Any, ValidationError], None] | None = None,
) -> HttpResponse:
    """form_submit, then the whole page: the redirect after a success, or `template` drawn again with
    `form`, `error` (the service's refusal, unless `show_refusal` put it on the form) and `context`."""
    outcome = form_submit(request, form, save, success=success, next_url=next_url, show_refusal=show_refusal)
    if outcome.response:
        return outcome.response
    return render(request, template, {"form": form, "error": outcome.refusal, **(context or {})})
