"""One error envelope for every answer the API gives that is not a success.

    {"error": {"code": "group_full", "message": "В группе нет свободных мест.", "fields": {...}}}

`code` is for programs and never changes meaning; `message` is for people, in Russian unless the
client sends `Accept-Language: en`; `fields` (optional) maps an input field to what is wrong with it.
Every exception an endpoint can raise is turned into this envelope here, the unexpected ones
included, so a client never has to parse an HTML error page.
"""

import json
import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.responses import NinjaJSONEncoder

logger = logging.getLogger(__name__)

MESSAGES = {
    "invalid_input": _("Проверьте введённые данные."),
    "malformed_json": _("Тело запроса — некорректный JSON."),
    "payload_too_large": _("Слишком большой запрос."),
    "not_authenticated": _("Нужна авторизация: передайте заголовок Authorization: Bearer <токен>."),
    "invalid_credentials": _("Неверный логин или пароль."),
    "not_a_member": _("Нет доступа к этой организации."),
    "csrf_failed": _("Не пройдена проверка CSRF: обновите страницу и повторите."),
    "forbidden": _("Недостаточно прав для этого действия."),
    "not_found": _("Не найдено."),
    "method_not_allowed": _("Этот метод не поддерживается."),
    "conflict": _("Действие противоречит текущему состоянию данных."),
    "bad_request": _("Некорректный запрос."),
    "throttled": _("Слишком много запросов, повторите позже."),
    "server_error": _("Внутренняя ошибка сервера. Мы уже разбираемся."),
}

# Service errors that say "the data is fine, but the world is not in a state that allows it".
CONFLICT_CODES = frozenset(
    {
        "duplicate",
        "unique",
        "unique_together",
        "group_full",
        "group_ended",
        "no_consent",
        "lesson_cancelled",
        "already_cancelled",
        "already_linked",
        "attendance_taken",
        "not_in_group",
        "invalid_transition",
        "conflict",
        # make-up lessons: the missed lesson is booked already, the make-up was attended, the child
        # is in that group anyway
        "already_booked",
        "already_used",
        "already_in_group",
    }
)

# Pydantic error types, said in words a person understands (the raw pydantic text is English jargon).
FIELD_MESSAGES = {
    "missing": _("Обязательное поле."),
    "extra_forbidden": _("Неизвестное поле."),
    "string_type": _("Нужна строка."),
    "string_too_short": _("Поле не может быть пустым."),
    "string_too_long": _("Не больше %(max_length)s символов."),
    "invalid_characters": _("Недопустимые символы."),
    "string_unicode": _("Недопустимые символы."),
    "string_pattern_mismatch": _("Неверный формат."),
    "int_type": _("Нужно целое число."),
    "int_parsing": _("Нужно целое число."),
    "int_from_float": _("Нужно целое число."),
    "float_type": _("Нужно число."),
    "float_parsing": _("Нужно число."),
    "decimal_type": _("Нужно число."),
    "decimal_parsing": _("Нужно число."),
    "decimal_max_digits": _("Слишком длинное число."),
    "decimal_max_places": _("Слишком много знаков после запятой."),
    "decimal_whole_digits": _("Слишком длинное число."),
    "finite_number": _("Нужно конечное число."),
    "bool_type": _("Нужно true или false."),
    "bool_parsing": _("Нужно true или false."),
    "date_type": _("Нужна дата в формате ГГГГ-ММ-ДД."),
    "date_parsing": _("Нужна дата в формате ГГГГ-ММ-ДД."),
    "date_from_datetime_parsing": _("Нужна дата в формате ГГГГ-ММ-ДД."),
    "date_from_datetime_inexact": _("Нужна дата в формате ГГГГ-ММ-ДД."),
    "datetime_type": _("Нужны дата и время в формате ISO 8601."),
    "datetime_parsing": _("Нужны дата и время в формате ISO 8601."),
    "datetime_from_date_parsing": _("Нужны дата и время в формате ISO 8601."),
    "timezone_aware": _("Укажите часовой пояс, например 2026-09-01T16:00:00+03:00."),
    "time_type": _("Нужно время в формате ЧЧ:ММ."),
    "time_parsing": _("Нужно время в формате ЧЧ:ММ."),
    "greater_than": _("Значение должно быть больше %(gt)s."),
    "greater_than_equal": _("Значение должно быть не меньше %(ge)s."),
    "less_than": _("Значение должно быть меньше %(lt)s."),
    "less_than_equal": _("Значение должно быть не больше %(le)s."),
    "enum": _("Недопустимое значение. Допустимо: %(expected)s."),
    "literal_error": _("Недопустимое значение. Допустимо: %(expected)s."),
    "list_type": _("Нужен список."),
    "too_long": _("Слишком много элементов (не больше %(max_length)s)."),
    "too_short": _("Слишком мало элементов (нужно не меньше %(min_length)s)."),
    "dict_type": _("Нужен объект."),
    "model_type": _("Нужен объект."),
    "model_attributes_type": _("Нужен объект."),
    "dates_out_of_range": _("Дата вне допустимого диапазона."),
}
FIELD_FALLBACK = _("Некорректное значение.")


class ApiError(Exception):
    """Raised by endpoints for an answer that is not a success; rendered by `render_error`."""

    def __init__(self, status: int, code: str, message: str | None = None, fields: dict | None = None):
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        super().__init__(code)


class ErrorDetail(Schema):
    code: str
    message: str
    fields: dict[str, str] | None = None


class ErrorOut(Schema):
    error: ErrorDetail


# Documented on every operation, so clients (and schemathesis) know each error's shape.
ERROR_RESPONSES = {
    (400, 401, 403, 404, 409, 413, 422): ErrorOut,
}


def error_body(code: str, message=None, fields: dict | None = None) -> dict:
    error = {"code": code, "message": str(message if message is not None else MESSAGES.get(code, code))}
    if fields:
        error["fields"] = {str(name): str(text) for name, text in fields.items()}
    return {"error": error}


def error_response(status: int, code: str, message=None, fields: dict | None = None) -> HttpResponse:
    content = json.dumps(error_body(code, message, fields), cls=NinjaJSONEncoder, ensure_ascii=False)
    response = HttpResponse(content, status=status, content_type="application/json; charset=utf-8")
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="kruzhok"'
    return response


def _field_name(loc) -> str:
    """("body", "payload", "slots", 0, "weekday") → "slots.0.weekday"; the source and the
    parameter's own name mean nothing to a client."""
    source, *rest = loc or ("body",)
    if source == "body" and rest:
        rest = rest[1:]
    return ".".join(str(part) for part in rest) or str(source)


def _field_message(error: dict) -> str:
    template = FIELD_MESSAGES.get(error.get("type", ""), FIELD_FALLBACK)
    context = error.get("ctx") or {}
    try:
        return str(template) % context if "%(" in str(template) else str(template)
    except (KeyError, TypeError, ValueError):
        return str(FIELD_FALLBACK)


def validation_fields(errors: list[dict]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in errors:
        fields.setdefault(_field_name(error.get("loc")), _field_message(error))
    return fields


def django_validation_fields(exc: DjangoValidationError) -> tuple[str, str, dict[str, str]]:
    """(code, message, fields) for a service's ValidationError, which may be a message, a list, or
    a dict of field → errors (from full_clean)."""
    if hasattr(exc, "error_dict"):
        fields = {}
        first_code = None
        for name, errors in exc.error_dict.items():
            fields[name] = " ".join(str(message) for e in errors for message in e.messages)
            first_code = first_code or next((e.code for e in errors if e.code), None)
        key = "non_field_errors" if "__all__" in fields else None
        if key:
            fields[key] = fields.pop("__all__")
        message = fields.get("non_field_errors") or MESSAGES["invalid_input"]
        return first_code or "invalid", message, fields
    errors = exc.error_list
    code = next((e.code for e in errors if e.code), None) or "invalid"
    message = " ".join(str(message) for e in errors for message in e.messages)
    return code, message, {}


def install_error_handlers(api: NinjaAPI) -> None:
    def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return error_response(exc.status, exc.code, exc.message, exc.fields)

    def on_validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        return error_response(422, "invalid_input", fields=validation_fields(exc.errors))

    def on_authentication(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return error_response(401, "not_authenticated")

    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        # ninja raises HttpError(400) when the body cannot be parsed at all.
        if exc.status_code == 400:
            return error_response(400, "malformed_json")
        code = {401: "not_authenticated", 403: "forbidden", 404: "not_found", 429: "throttled"}
        return error_response(exc.status_code, code.get(exc.status_code, "bad_request"))

    def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return error_response(404, "not_found")

    def on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return error_response(403, "forbidden")

    def on_service_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        code, message, fields = django_validation_fields(exc)
        if code in ("unique", "unique_together"):
            code = "duplicate"
        status = 409 if code in CONFLICT_CODES else 400
        return error_response(status, code, message, fields)

    def on_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return error_response(413, "payload_too_large")

    def on_suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
        return error_response(400, "bad_request")

    def on_integrity(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
        # A database rule caught what the service's checks did not (usually a race): say so, don't crash.
        logger.warning("Integrity error on %s %s: %s", request.method, request.path, exc)
        return error_response(409, "conflict")

    def on_anything_else(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("Unhandled API error on %s %s", request.method, request.path, exc_info=exc)
        return error_response(500, "server_error")

    api.add_exception_handler(ApiError, on_api_error)
    api.add_exception_handler(NinjaValidationError, on_validation)
    api.add_exception_handler(AuthenticationError, on_authentication)
    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(Http404, on_not_found)
    api.add_exception_handler(PermissionDenied, on_permission_denied)
    api.add_exception_handler(DjangoValidationError, on_service_error)
    api.add_exception_handler(RequestDataTooBig, on_too_big)
    api.add_exception_handler(SuspiciousOperation, on_suspicious)
    api.add_exception_handler(IntegrityError, on_integrity)
    api.add_exception_handler(Exception, on_anything_else)
