"""``/rest/v1/stats``: API usage and errors per quota day (US Central dates).

The figures come from the same counters that enforce the limits, so a client can see its
own calls (this one included) exactly as Marketo counts them against the daily quota.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from marketo_sandbox.app import Ctx, router
from marketo_sandbox.envelope import ok
from marketo_sandbox.limits import quota_day


def _days(ctx: Ctx, count: int) -> list[str]:
    today = date.fromisoformat(quota_day(ctx.app.clock()))
    return [(today - timedelta(days=n)).isoformat() for n in range(count)]


def _per_day(
    counts: dict[str, dict[Any, int]], days: list[str], list_key: str, item_key: str
) -> list[dict[str, Any]]:
    """Marketo's stats shape: per day, the total and one {item_key, count} per item."""
    result = []
    for day in days:
        items = counts.get(day, {})
        result.append(
            {
                "date": day,
                "total": sum(items.values()),
                list_key: [{item_key: item, "count": n} for item, n in sorted(items.items())],
            }
        )
    return result


def _usage(ctx: Ctx, days: list[str]) -> list[dict[str, Any]]:
    return _per_day(ctx.app.limits.usage(), days, "users", "userId")


def _errors(ctx: Ctx, days: list[str]) -> list[dict[str, Any]]:
    return _per_day(ctx.app.limits.errors(), days, "errors", "errorCode")


@router.route("/rest/v1/stats/usage.json", ("GET",))
def usage_today(ctx: Ctx) -> dict[str, Any]:
    return ok(_usage(ctx, _days(ctx, 1)))


@router.route("/rest/v1/stats/usage/last7days.json", ("GET",), fidelity_only=True)
def usage_last_7_days(ctx: Ctx) -> dict[str, Any]:
    return ok(_usage(ctx, _days(ctx, 7)))


@router.route("/rest/v1/stats/errors.json", ("GET",), fidelity_only=True)
def errors_today(ctx: Ctx) -> dict[str, Any]:
    return ok(_errors(ctx, _days(ctx, 1)))


@router.route("/rest/v1/stats/errors/last7days.json", ("GET",), fidelity_only=True)
def errors_last_7_days(ctx: Ctx) -> dict[str, Any]:
    return ok(_errors(ctx, _days(ctx, 7)))
