"""Writing tables to CSV and XLSX safely.

Text that starts with = + - @ (or a tab / carriage return) is read by Excel and LibreOffice as a
formula: a child's name "=HYPERLINK(...)" typed by anyone would run on the manager's computer. Such
text gets a leading apostrophe (OWASP "CSV injection"). Numbers and dates stay typed values, so a
negative balance is still a number.
"""

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SHEET_TITLE_MAX = 31
SHEET_FORBIDDEN = str.maketrans(dict.fromkeys("[]:*?/\\", " "))


def safe_text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def safe_cell(value):
    """A value for a spreadsheet cell: typed numbers and dates as they are, text defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, int | float | Decimal | dt.date):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            # Excel has no time zones; callers pass the centre's local time, the wall clock is kept.
            return value.replace(tzinfo=None)
        return value
    return safe_text(str(value))


def _csv_value(value) -> str:
    value = safe_cell(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    return str(value)


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """UTF-8 with a BOM and semicolons: Excel in a Russian locale opens it with Cyrillic intact."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([safe_text(h) for h in header])
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def sheet_title(text: str, used: set[str]) -> str:
    """A sheet name Excel accepts (31 characters, no []:*?/\\), unique within the workbook."""
    base = " ".join(text.translate(SHEET_FORBIDDEN).split())[:SHEET_TITLE_MAX] or "Лист"
    title, n = base, 2
    while title.lower() in used:
        suffix = f" ({n})"
        title, n = base[: SHEET_TITLE_MAX - len(suffix)] + suffix, n + 1
    used.add(title.lower())
    return title


def xlsx_bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def table_xlsx(title: str, header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """One sheet, streamed (write-only mode keeps memory flat for a big export)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title(title, set()))
    sheet.freeze_panes = "A2"
    for index, name in enumerate(header, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(12, min(40, len(name) + 4))
    sheet.append([safe_text(h) for h in header])
    for row in rows:
        sheet.append([safe_cell(v) for v in row])
    return xlsx_bytes(workbook)
