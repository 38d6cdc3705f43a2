"""Bulk lead import: ``POST /bulk/v1/leads.json`` and its batch status, failures, warnings.

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

The queue and the work of importing live in :mod:`marketo_sandbox.bulk.imports`.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from marketo_sandbox import envelope
from marketo_sandbox.api.control import ground_truth
from marketo_sandbox.app import Ctx, router
from marketo_sandbox.bulk import imports
from marketo_sandbox.bulk.imports import FORMATS, public
from marketo_sandbox.envelope import ApiError
from marketo_sandbox.model.shared import KIND_LISTS
from marketo_sandbox.store import Store

_MIME = {"CSV": "text/csv", "TSV": "text/tab-separated-values", "SSV": "text/csv"}


def _param(ctx: Ctx, name: str) -> str | None:
    """A parameter from the query string or the multipart form (clients use both)."""
    value = ctx.arg(name)
    if value is None:
        value = ctx.request.form.get(name) or None
    return value


@router.route("/bulk/v1/leads.json", ("POST",), max_body="max_bulk_import_bytes")
def import_leads(ctx: Ctx) -> dict[str, Any]:
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
        upload, fmt.upper(), lookup_field, list_id, _param(ctx, "partitionName")
    )
    return envelope.ok(
        [{"batchId": batch["batchId"], "importId": batch["importId"], "status": batch["status"]}]
    )


@router.route("/bulk/v1/leads/batch/<int:batch_id>.json", ("GET",))
def import_status(ctx: Ctx, batch_id: int) -> dict[str, Any]:
    return envelope.ok([public(imports.runner(ctx.app).batch(batch_id))])


def _report(ctx: Ctx, batch_id: int, which: str) -> Response:
    runner = imports.runner(ctx.app)
    batch = runner.batch(batch_id)
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


@ground_truth("import_batches")
def _import_batches(store: Store) -> Any:
    for batch in store.docs(imports.DOC_KIND):
        yield {
            **public(batch),
            "format": batch.get("format"),
            "lookupField": batch.get("lookupField"),
            "listId": batch.get("listId"),
            "partitionName": batch.get("partitionName"),
        }
