"""PDF helpers shared by every app that draws a document with reportlab (receipts, reports)."""

import os
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

# Cyrillic needs a TrueType font; reportlab's built-in Helvetica has none.
FONT_CANDIDATES = [
    os.environ.get("BILLING_RECEIPT_FONT", ""),
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
]
FONT_NAME = "KruzhokReceipt"


def cyrillic_font() -> str:
    """The name of a registered font that draws Cyrillic (Helvetica only when none is installed)."""
    if FONT_NAME in pdfmetrics.getRegisteredFontNames():
        return FONT_NAME
    for candidate in FONT_CANDIDATES:
        if candidate and Path(candidate).is_file():
            pdfmetrics.registerFont(TTFont(FONT_NAME, candidate))
            return FONT_NAME
    return "Helvetica"
