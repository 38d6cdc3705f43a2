"""``/_sandbox/...``: inspection and control of the emulator (no auth, not counted).

- ``GET  /_sandbox/calls``: API calls since start or the last reset, total and per endpoint
- ``POST /_sandbox/calls/reset``: zero the call counters and limit windows only
- ``GET  /_sandbox/objects``: the object kinds; ``GET /_sandbox/objects/<kind>`` the ground truth
- ``GET/POST/DELETE /_sandbox/faults``: list, add (one object or a list), clear injected faults
- ``GET/POST /_sandbox/config``: read or change limits and instance profiles at run time
- ``GET  /_sandbox/export-jobs``: every export job's queue and processing instants, the
  most jobs queued at once, 1029 queue-full refusals, the two-slot floor
- ``POST /_sandbox/reset``: back to the seeded data, counters, tokens and faults
- ``POST /_sandbox/tokens/expire`` and ``/_sandbox/tokens/revoke``: 602 / 601 on next use
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from werkzeug.wrappers import Response

from marketo_sandbox.app import Ctx, router
from marketo_sandbox.bulk import exports
from marketo_sandbox.control.faults import FaultError
from marketo_sandbox.domain.object_types import absent_kinds
from marketo_sandbox.envelope import HttpError
from marketo_sandbox.profiles import UnknownProfileError
from marketo_sandbox.truth import GROUND_TRUTH, provider


def _json_array(items: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    yield b"["
    first = True
    for item in items:
        if not first:
            yield b","
        first = False
        yield json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode()
    yield b"]"


@router.route("/_sandbox/calls", ("GET",), kind="control")
def calls(ctx: Ctx) -> dict[str, Any]:
    snapshot = ctx.app.calls_snapshot()
    snapshot["used_today"] = ctx.app.limits.used_today()
    return snapshot


@router.route("/_sandbox/calls/reset", ("POST",), kind="control")
def reset_calls(ctx: Ctx) -> dict[str, Any]:
    ctx.app.reset_calls()
    return {"ok": True}


@router.route("/_sandbox/objects", ("GET",), kind="control")
def object_kinds(ctx: Ctx) -> dict[str, Any]:
    kinds = set(GROUND_TRUTH) | set(ctx.store.object_kinds())
    # A type of a profile that is off is not on the instance (its ground truth stays
    # readable by kind).
    return {"kinds": sorted(kinds - absent_kinds(ctx.config))}


@router.route("/_sandbox/objects/<path:kind>", ("GET",), kind="control")
def objects(ctx: Ctx, kind: str) -> Response:
    source = provider(ctx.store, kind)
    if source is None:
        raise HttpError(404, {"error": f"unknown object kind '{kind}'"})
    return Response(_json_array(source(ctx.store)), mimetype="application/json")


@router.route("/_sandbox/faults", ("GET",), kind="control")
def list_faults(ctx: Ctx) -> dict[str, Any]:
    return {"faults": ctx.app.faults.pending()}


@router.route("/_sandbox/faults", ("POST",), kind="control")
def add_faults(ctx: Ctx) -> dict[str, Any]:
    body = ctx.json()
    specs = body if isinstance(body, list) else [body]
    added = []
    try:
        for spec in specs:
            if not isinstance(spec, dict):
                raise FaultError("each fault is a JSON object")
            added.append(ctx.app.faults.add(spec).spec)
    except FaultError as exc:
        raise HttpError(400, {"error": str(exc)}) from None
    return {"added": added}


@router.route("/_sandbox/faults", ("DELETE",), kind="control")
def clear_faults(ctx: Ctx) -> dict[str, Any]:
    ctx.app.faults.clear()
    return {"ok": True}


@router.route("/_sandbox/config", ("GET",), kind="control")
def get_config(ctx: Ctx) -> dict[str, Any]:
    return ctx.config.public()


@router.route("/_sandbox/config", ("POST",), kind="control")
def set_config(ctx: Ctx) -> dict[str, Any]:
    body = ctx.json()
    if not isinstance(body, dict):
        raise HttpError(400, {"error": "config changes are a JSON object"})
    try:
        unknown = ctx.config.update(body)
    except UnknownProfileError as exc:
        raise HttpError(400, {"error": str(exc)}) from exc
    if unknown:
        raise HttpError(
            400, {"error": f"unknown or read-only settings: {', '.join(sorted(unknown))}"}
        )
    return ctx.config.public()


@router.route("/_sandbox/export-jobs", ("GET",), kind="control")
def export_jobs(ctx: Ctx) -> dict[str, Any]:
    return exports.runner(ctx.app).timeline()


@router.route("/_sandbox/reset", ("POST",), kind="control")
def reset(ctx: Ctx) -> dict[str, Any]:
    ctx.app.reset()
    return {"ok": True}


@router.route("/_sandbox/tokens/expire", ("POST",), kind="control")
def expire_tokens(ctx: Ctx) -> dict[str, Any]:
    ctx.app.tokens.expire_all()
    return {"ok": True}


@router.route("/_sandbox/tokens/revoke", ("POST",), kind="control")
def revoke_tokens(ctx: Ctx) -> dict[str, Any]:
    ctx.app.tokens.revoke_all()
    return {"ok": True}
