"""A PDF receipt per payment (reportlab). Not a fiscal cheque (54-ФЗ needs an online cash register):
it is the centre's own confirmation that the money was received."""

import io

from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from kruzhok.billing.models import Payment
from kruzhok.lib.pdf import cyrillic_font


def _rub(amount) -> str:
    return number_format(amount, 2, use_l10n=True, force_grouping=True) + " ₽"


def receipt_pdf(*, payment: Payment, refunded=None) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A5)
    width, height = A5
    font = cyrillic_font()  # shared with reports (kruzhok/lib/pdf.py)
    org = payment.account.organization
    paid_at = timezone.localtime(payment.paid_at or payment.created_at)
    lines = [
        (16, org.name),
        (
            12,
            _("Квитанция № %(number)s от %(date)s")
            % {"number": payment.pk, "date": f"{paid_at:%d.%m.%Y %H:%M}"},
        ),
        (11, ""),
        (11, _("Плательщик: %(name)s") % {"name": payment.account.guardian.full_name}),
        (
            11,
            _("Сумма: %(amount)s (%(currency)s)")
            % {"amount": _rub(payment.amount), "currency": payment.currency},
        ),
        (11, _("Способ оплаты: %(method)s") % {"method": payment.get_method_display()}),
        (11, _("Статус: %(status)s") % {"status": payment.get_status_display()}),
    ]
    if refunded:
        lines.append((11, _("Возвращено: %(amount)s") % {"amount": _rub(refunded)}))
    if payment.note:
        lines.append((11, _("Комментарий: %(note)s") % {"note": payment.note[:90]}))
    if payment.taken_by:
        lines.append(
            (
                11,
                _("Принял(а): %(name)s")
                % {"name": payment.taken_by.get_full_name() or payment.taken_by.get_username()},
            )
        )
    lines += [(9, ""), (9, _("Документ подтверждает получение оплаты центром и не является кассовым чеком."))]
    y = height - 20 * mm
    for size, text in lines:
        pdf.setFont(font, size)
        pdf.drawString(15 * mm, y, text)
        y -= size * 1.7
    pdf.setTitle(_("Квитанция %(number)s") % {"number": payment.pk})
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
