"""Badge images drawn on the server as SVG: no files to upload, nothing loaded from outside."""

from django.utils.html import escape

from kruzhok.gamification.models import Badge


def badge_svg(badge: Badge, *, size: int = 120) -> str:
    # Both texts are user input: escaped, and the colour was checked against #rrggbb on save.
    color = badge.color if len(badge.color) == 7 and badge.color.startswith("#") else "#2f6fdf"
    symbol = escape(badge.symbol or "★")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 120 120" '
        f'role="img" aria-label="{escape(badge.name)}">'
        f'<circle cx="60" cy="60" r="56" fill="{color}"/>'
        '<circle cx="60" cy="60" r="47" fill="none" stroke="#ffffff" stroke-width="3" stroke-dasharray="6 4"/>'
        f'<text x="60" y="75" text-anchor="middle" font-size="44" fill="#ffffff" '
        f'font-family="sans-serif">{symbol}</text>'
        "</svg>"
    )
