"""Bulk imports: leads, program members and custom objects, each with its batch status,
failures and warnings.

- ``POST /bulk/v1/leads.json`` multipart, part ``file`` (CSV/TSV/SSV whose header row names
  REST fields), ``format`` required, optional ``lookupField`` (default email; ``id`` means
  update only), ``listId`` and ``partitionName``; each as a query or a form parameter.
  Answers ``[{"batchId":..,"importId":"..","status":"Queued"}]``; 1016 "Too many imports"
  beyond ``import_max_queued`` waiting or running batches; HTTP 413 above
  ``max_bulk_import_bytes``.
- ``GET /bulk/v1/leads/batch/{batchId}.json``: ``{batchId, importId, status, numOfLeadsProcessed,
  numOfRowsFailed, numOfRowsWithWarning, message}``.
- ``GET .../failures.json`` and ``.../warnings.json``: the rows in the file's own format,
  original values plus an "Import Failure Reason" / "Import Warning Reason" column.

- ``POST /bulk/v1/program/{programId}/members/import.json`` multipart ``file`` with
  ``format`` and ``programMemberStatus`` (required; 1013 unknown program, 1025 a status
  its channel does not have): lead fields (``email`` required, the dedupe key) and custom
  program member fields. Status ``GET /bulk/v1/program/members/import/{batchId}/status.json``
  (same counters as a lead batch), ``.../failures.json`` and ``.../warnings.json``.
- ``POST /bulk/v1/customobjects/{apiName}/import.json`` multipart ``file`` with ``format``:
  records inserted or updated by the type's dedupe fields. Answers and status
  ``{batchId, operation:"import", status, objectApiName, numOfObjectsProcessed,
  numOfRowsFailed, numOfRowsWithWarning, message}``; status, failures and warnings under
  ``/bulk/v1/customobjects/{apiName}/import/{batchId}/``.

The queue (shared by the three kinds; the limits count per kind) and the work of
importing live in :mod:`marketo_sandbox.bulk.imports`.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from marketo_sandbox import envelope
from marketo_sandbox.app import Ctx, router
from marketo_sandbox.bulk import imports
from marketo_sandbox.bulk.imports import CUSTOM_OBJECTS, FORMATS, LEADS, PROGRAM_MEMBERS, public
from marketo_sandbox.domain import programs as program_rules
from marketo_sandbox.domain.object_types import instance_custom_type
from marketo_sandbox.envelope import ApiError
from marketo_sandbox.model.shared import KIND_LISTS, KIND_PROGRAMS

_MIME = {"CSV": "text/csv", "TSV": "text/tab-separated-values", "SSV": "text/csv"}


def _param(ctx: Ctx, name: str) -> str | None:
    """A parameter from the query string or the multipart form (clients use both)."""
    value = ctx.arg(name)
    if value is None:
        value = ctx.request.form.get(name) or None
    return value


def _upload(ctx: Ctx) -> tuple[Any, str]:
    """The uploaded file and its format (upper case), or the request-level refusal."""
    if ctx.request.mimetype != "multipart/form-data":
        raise ApiError("612", "Invalid Content Type")
    upload = ctx.request.files.get("file")
    if upload is None:
        raise ApiError("613", "Invalid Multipart Request: part 'file' is required")
    fmt = _param(ctx, "format")
    if fmt is None:
        raise ApiError("1003", "format cannot be blank")
    if fmt.upper() not in FORMATS:
        raise ApiError("1003", f"Invalid format '{fmt}' (one of csv, tsv, ssv)")
    return upload, fmt.upper()


@router.route("/bulk/v1/leads.json", ("POST",), max_body="max_bulk_import_bytes")
def import_leads(ctx: Ctx) -> dict[str, Any]:
    upload, fmt = _upload(ctx)
    list_id: int | None = None
    raw_list = _param(ctx, "listId")
    if raw_list is not None:
        try:
            list_id = int(raw_list)
        except ValueError:
            raise ApiError("1003", f"Invalid value '{raw_list}' for listId") from None
        has_lists = ctx.store.query("SELECT 1 FROM objects WHERE kind=? LIMIT 1", (KIND_LISTS,))
        if has_lists and ctx.store.object_get(KIND_LISTS, list_id) is None:
            raise ApiError("1013", f"Static list {list_id} not found")
    lookup_field = imports.check_lookup_field(_param(ctx, "lookupField") or "email")
    batch = imports.runner(ctx.app).submit(
        upload, fmt, lookup_field, list_id, _param(ctx, "partitionName"), user=ctx.api_user
    )
    return envelope.ok([imports.created(batch)])


@router.route("/bulk/v1/leads/batch/<int:batch_id>.json", ("GET",))
def import_status(ctx: Ctx, batch_id: int) -> dict[str, Any]:
    return envelope.ok([public(imports.runner(ctx.app).batch(batch_id, LEADS, ctx.api_user))])


def _report(ctx: Ctx, batch_id: int, which: str, kind: str = LEADS) -> Response:
    runner = imports.runner(ctx.app)
    batch = runner.batch(batch_id, kind, ctx.api_user)
    path = runner.report_path(batch, which)
    # Until the batch finishes there is nothing to report yet.
    body = path.read_bytes() if batch["status"] == imports.COMPLETE and path.exists() else b""
    return Response(body, mimetype=_MIME.get(batch["format"], "text/csv"))


@router.route("/bulk/v1/leads/batch/<int:batch_id>/failures.json", ("GET",))
def import_failures(ctx: Ctx, batch_id: int) -> Response:
    return _report(ctx, batch_id, "failures")


@router.route("/bulk/v1/leads/batch/<int:batch_id>/warnings.json", ("GET",))
def import_warnings(ctx: Ctx, batch_id: int) -> Response:
    return _report(ctx, batch_id, "warnings")


@router.route(
    "/bulk/v1/program/<int:program_id>/members/import.json",
    ("POST",),
    max_body="max_bulk_import_bytes",
    fidelity_only=True,
)
def import_program_members(ctx: Ctx, program_id: int) -> dict[str, Any]:
    upload, fmt = _upload(ctx)
    status_name = _param(ctx, "programMemberStatus")
    if status_name is None:
        raise ApiError("1003", "programMemberStatus cannot be blank")
    prog = ctx.store.object_get(KIND_PROGRAMS, program_id)
    if prog is None:
        raise ApiError("1013", f"Program '{program_id}' not found")
    status = program_rules.program_channel(prog).status(status_name)
    if status is None or status.step == 0:
        raise ApiError("1025", f"Program status '{status_name}' not found")
    batch = imports.runner(ctx.app).submit_batch(
        upload,
        PROGRAM_MEMBERS,
        fmt,
        user=ctx.api_user,
        programId=program_id,
        programMemberStatus=status.name,
    )
    return envelope.ok([imports.created(batch)])


@router.route(
    "/bulk/v1/program/members/import/<int:batch_id>/status.json", ("GET",), fidelity_only=True
)
def program_member_import_status(ctx: Ctx, batch_id: int) -> dict[str, Any]:
    batch = imports.runner(ctx.app).batch(batch_id, PROGRAM_MEMBERS, ctx.api_user)
    return envelope.ok([public(batch)])


@router.route(
    "/bulk/v1/program/members/import/<int:batch_id>/failures.json", ("GET",), fidelity_only=True
)
def program_member_import_failures(ctx: Ctx, batch_id: int) -> Response:
    return _report(ctx, batch_id, "failures", PROGRAM_MEMBERS)


@router.route(
    "/bulk/v1/program/members/import/<int:batch_id>/warnings.json", ("GET",), fidelity_only=True
)
def program_member_import_warnings(ctx: Ctx, batch_id: int) -> Response:
    return _report(ctx, batch_id, "warnings", PROGRAM_MEMBERS)


def _custom_object_batch(ctx: Ctx, api_name: str, batch_id: int) -> dict[str, Any]:
    batch = imports.runner(ctx.app).batch(batch_id, CUSTOM_OBJECTS, ctx.api_user)
    if batch.get("objectApiName") != api_name:
        raise ApiError("1003", f"Import batch {batch_id} not found")
    return batch


@router.route(
    "/bulk/v1/customobjects/<api_name>/import.json",
    ("POST",),
    max_body="max_bulk_import_bytes",
    fidelity_only=True,
)
def import_custom_objects(ctx: Ctx, api_name: str) -> dict[str, Any]:
    ot = instance_custom_type(ctx.config, api_name)
    if ot is None:
        raise ApiError("1003", f"Invalid custom object type '{api_name}'")
    upload, fmt = _upload(ctx)
    batch = imports.runner(ctx.app).submit_batch(
        upload, CUSTOM_OBJECTS, fmt, user=ctx.api_user, objectApiName=ot.name
    )
    return envelope.ok([imports.created(batch)])


@router.route(
    "/bulk/v1/customobjects/<api_name>/import/<int:batch_id>/status.json",
    ("GET",),
    fidelity_only=True,
)
def custom_object_import_status(ctx: Ctx, api_name: str, batch_id: int) -> dict[str, Any]:
    return envelope.ok([public(_custom_object_batch(ctx, api_name, batch_id))])


@router.route(
    "/bulk/v1/customobjects/<api_name>/import/<int:batch_id>/failures.json",
    ("GET",),
    fidelity_only=True,
)
def custom_object_import_failures(ctx: Ctx, api_name: str, batch_id: int) -> Response:
    _custom_object_batch(ctx, api_name, batch_id)
    return _report(ctx, batch_id, "failures", CUSTOM_OBJECTS)


@router.route(
    "/bulk/v1/customobjects/<api_name>/import/<int:batch_id>/warnings.json",
    ("GET",),
    fidelity_only=True,
)
def custom_object_import_warnings(ctx: Ctx, api_name: str, batch_id: int) -> Response:
    _custom_object_batch(ctx, api_name, batch_id)
    return _report(ctx, batch_id, "warnings", CUSTOM_OBJECTS)
