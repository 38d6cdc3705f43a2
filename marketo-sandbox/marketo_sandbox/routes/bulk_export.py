"""Bulk extract: ``/bulk/v1/{E}/export/...`` for leads, activities, program members and
custom objects (docs/MARKETO.md section 5; request and response shapes per Adobe's swagger).

For every ``{E}`` in ``leads``, ``activities``, ``program/members`` and
``customobjects/{apiName}``:

- ``POST {E}/export/create.json``            -> ``Created`` job
- ``POST {E}/export/{exportId}/enqueue.json`` -> ``Queued`` (1029 when not Created, the queue
  is full, or the daily export quota is spent)
- ``GET  {E}/export/{exportId}/status.json``
- ``GET  {E}/export/{exportId}/file.json``    -> the file (``Range`` supported), 404 plain text
  when the job is not Completed, unknown, another API user's, expired or its file is gone
- ``POST {E}/export/{exportId}/cancel.json``
- ``GET  {E}/export.json?status=``            -> jobs created in the last 7 days

The queue, the job clock and the files live in :mod:`marketo_sandbox.bulk.exports`.

Fault conventions (consumed when a job finishes processing, matched against the job's
status path ``GET /bulk/v1/<E>/export/<exportId>/status.json``):

- ``{"path": "/bulk/v1/leads/export/.*/status.json", "export_fail": true, "message": ".."}``:
  that job ends ``Failed`` with ``errorMsg``;
- ``{"path": "...", "export_file_gone": true}``: the job reports ``Completed`` but its
  ``file.json`` answers 404 (Marketo can lose a file: clients must export again);
- ``drop_after_bytes`` on the FILE path cuts a download midway (resume with ``Range``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.utils import send_file
from werkzeug.wrappers import Response

from marketo_sandbox import envelope
from marketo_sandbox.app import Ctx, router
from marketo_sandbox.bulk import csvfile, exports
from marketo_sandbox.bulk.exports import STATUSES, public
from marketo_sandbox.envelope import ApiError, HttpError

Handler = Callable[..., Any]

# Status filter values arrive lower-case (swagger enum) or as Marketo prints them; the
# enum spells "Canceled", every example "Cancelled".
_STATUS_NAMES = {s.lower(): s for s in STATUSES} | {"canceled": exports.CANCELLED}


def _status_filter(ctx: Ctx) -> set[str] | None:
    values = ctx.list_arg("status")
    if not values:
        return None
    out = set()
    for value in values:
        name = _STATUS_NAMES.get(value.lower())
        if name is None:
            raise ApiError("1003", f"Invalid status '{value}'")
        out.add(name)
    return out


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"export:{offset}".encode()).decode().rstrip("=")


def _page_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, offset = raw.split(":", 1)
        if prefix != "export":
            raise ValueError(raw)
        return max(0, int(offset))
    except ValueError:
        raise ApiError("1003", f"Invalid nextPageToken '{token}'") from None


def _create(ctx: Ctx, entity: str) -> dict[str, Any]:
    job = exports.runner(ctx.app).create(entity, ctx.body(), ctx.api_user)
    return envelope.ok([public(job)])


def _enqueue(ctx: Ctx, entity: str, export_id: str) -> dict[str, Any]:
    return envelope.ok([public(exports.runner(ctx.app).enqueue(entity, export_id, ctx.api_user))])


def _status(ctx: Ctx, entity: str, export_id: str) -> dict[str, Any]:
    return envelope.ok([public(exports.runner(ctx.app).job(entity, export_id, ctx.api_user))])


def _cancel(ctx: Ctx, entity: str, export_id: str) -> dict[str, Any]:
    return envelope.ok([public(exports.runner(ctx.app).cancel(entity, export_id, ctx.api_user))])


def _list(ctx: Ctx, entity: str) -> dict[str, Any]:
    jobs = exports.runner(ctx.app).listing(entity, _status_filter(ctx), ctx.api_user)
    size = ctx.batch_size()
    offset = _page_offset(ctx.arg("nextPageToken"))
    page = jobs[offset : offset + size]
    extra: dict[str, Any] = {}
    # marketorestpython pages while the key is present: only send it when more remain.
    if offset + size < len(jobs):
        extra["nextPageToken"] = _page_token(offset + size)
    return envelope.ok([public(j) for j in page], **extra)


def _file(ctx: Ctx, entity: str, export_id: str) -> Response:
    runner = exports.runner(ctx.app)
    path = runner.file_for(entity, export_id, ctx.api_user)
    if path is None:
        # Marketo answers bulk files with a plain-text 404, not an envelope.
        raise HttpError(404, f"Export file not found for job {export_id}")
    job = runner.job(entity, export_id, ctx.api_user)
    try:
        response = send_file(
            path,
            ctx.request.environ,
            mimetype=csvfile.MEDIA_TYPES.get(job["format"], "text/csv"),
            conditional=True,
            etag=False,
            max_age=None,
        )
    except FileNotFoundError:
        raise HttpError(404, f"Export file not found for job {export_id}") from None
    except RequestedRangeNotSatisfiable:
        # A client resuming a download that is already complete: 416 with the size,
        # never a 200 whose body it would append to the file.
        size = path.stat().st_size
        return Response(
            "Requested Range Not Satisfiable",
            status=416,
            headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"},
            mimetype="text/plain",
        )
    # send_file answers bytes (the file, or a byte range of it).
    response.response = _closing(cast("Iterable[bytes]", response.response))
    response.headers["Accept-Ranges"] = "bytes"
    # Exactly as recorded (werkzeug would write "; charset=utf-8").
    response.headers["Content-Type"] = csvfile.content_type(job["format"], ctx.config)
    # The HTTP server adds its own Date header; two would confuse strict clients.
    response.headers.pop("Date", None)
    return response


def _closing(body: Iterable[bytes]) -> Iterator[bytes]:
    """``body`` (send_file's wrapper of the open file), closed however the download ends.

    werkzeug's server closes a response only when the client stayed to the end: when a
    client drops the connection (a killed tap, a download cut midway), it skips the close
    and the file is left to the garbage collector, which warns. A generator's ``finally``
    runs even then, when the abandoned generator is collected."""
    try:
        yield from body
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()


def _register(prefix: str, entity_of: Callable[[dict[str, Any]], str]) -> None:
    """The six routes of one export kind; ``entity_of`` maps path variables to ``{E}``."""

    def bind(fn: Callable[..., Any], *names: str) -> Handler:
        def handler(ctx: Ctx, **values: Any) -> Any:
            args = [values[n] for n in names]
            return fn(ctx, entity_of(values), *args)

        handler.__name__ = (
            f"{fn.__name__.strip('_')}_{prefix.replace('/', '_').replace('<', '').replace('>', '')}"
        )
        return handler

    base = f"/bulk/v1/{prefix}/export"
    router.route(f"{base}/create.json", ("POST",))(bind(_create))
    router.route(f"{base}/<export_id>/enqueue.json", ("POST",))(bind(_enqueue, "export_id"))
    router.route(f"{base}/<export_id>/status.json", ("GET",))(bind(_status, "export_id"))
    router.route(f"{base}/<export_id>/file.json", ("GET",))(bind(_file, "export_id"))
    router.route(f"{base}/<export_id>/cancel.json", ("POST",))(bind(_cancel, "export_id"))
    router.route(f"{base}.json", ("GET",), fidelity_only=True)(bind(_list))


_register("leads", lambda _: "leads")


_register("activities", lambda _: "activities")


_register("program/members", lambda _: "program/members")


_register("customobjects/<api_name>", lambda values: f"customobjects/{values['api_name']}")
