"""The data-quality page: each check with its count and an expandable list of what to fix, scoped to
the member (a manager sees their branches), and the daily trend that should fall to zero."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kruzhok.accounts.decorators import role_required
from kruzhok.dataquality import selectors, services
from kruzhok.lib.dates import org_today

SHOWN_ROWS = 100
CHART_W, CHART_H = 600, 120
TREND_SLOTS = 30


def trend_chart(points: list[dict]) -> dict:
    """Bar geometry for a small server-drawn SVG (the table beside it is the text alternative)."""
    if not points:
        return {"bars": [], "width": CHART_W, "height": CHART_H}
    peak = max(p["total"] for p in points) or 1
    # At least TREND_SLOTS slots, so the first days of history are thin bars, not one wide block.
    step = CHART_W / max(len(points), TREND_SLOTS)
    bars = []
    for i, p in enumerate(points):
        h = round((CHART_H - 20) * p["total"] / peak, 1)
        bars.append(
            {**p, "x": round(i * step + 2, 1), "w": round(max(step - 4, 2), 1), "h": h, "y": CHART_H - 14 - h}
        )
    return {"bars": bars, "width": CHART_W, "height": CHART_H}


@role_required("dataquality.view")
@require_GET
def index(request):
    today = org_today(request.org)
    results = selectors.check_results(membership=request.membership, today=today)
    points = selectors.trend(membership=request.membership, today=today)
    snapshot_day = next((r.as_of for r in results if r.as_of), None)
    return render(
        request,
        "dataquality/index.html",
        {
            "results": results,
            "total": sum(r.count for r in results),
            "shown_rows": SHOWN_ROWS,
            "points": points,
            "chart": trend_chart(points),
            "snapshot_day": snapshot_day,
            "checked": bool(results) and snapshot_day is not None,
        },
    )


@role_required("dataquality.view")
@require_POST
def refresh(request):
    """«Пересчитать»: queues what the nightly job counts (the ledger check included); today's snapshot
    replaces the figures when it is done."""
    services.snapshot_refresh_queue(org=request.org)
    messages.success(request, _("Пересчёт запущен: новые цифры появятся, когда он закончится."))
    return redirect("dataquality:index")
