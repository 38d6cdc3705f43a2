"""The fields of one form version (asset API, Get Form Fields).

Fields belong to a version: a draft can add or drop fields its approved version has.
Without ``status`` Marketo answers the approved version, or the draft of a form never
approved. The answer is one unpaged list. Deleting a field edits the form's draft (made
from the approved version when there is none) and answers the form's id.
"""

from __future__ import annotations

from typing import Any

from marketo_sandbox import envelope
from marketo_sandbox.app import Ctx, router
from marketo_sandbox.domain.assets import APPROVED, KIND_FORMS, stored_assets
from marketo_sandbox.domain.marketing_assets import (
    KIND_FORM_FIELDS,
    delete_form_field,
    render_field,
    stored,
)
from marketo_sandbox.domain.workspaces import visible
from marketo_sandbox.envelope import ApiError
from marketo_sandbox.routes.assets import status_arg


@router.route("/rest/asset/v1/form/<int:form_id>/fields.json", ("GET",))
def get_form_fields(ctx: Ctx, form_id: int) -> dict[str, Any]:
    forms = visible(ctx.config, ctx.store, KIND_FORMS, stored_assets(ctx.store, KIND_FORMS))
    versions = [f["status"] for f in forms if f["id"] == form_id]
    if not versions:
        raise ApiError("702", f"Form {form_id} not found")
    status = status_arg(ctx) or (APPROVED if APPROVED in versions else versions[0])
    fields = [
        render_field(f)
        for f in stored(ctx.store, KIND_FORM_FIELDS)
        if int(f["formId"]) == form_id and f["status"] == status
    ]
    return envelope.asset_ok(fields)


@router.route("/rest/asset/v1/form/<int:form_id>/field/<field_id>/delete.json", ("POST",))
def delete_field(ctx: Ctx, form_id: int, field_id: str) -> dict[str, Any]:
    forms = visible(ctx.config, ctx.store, KIND_FORMS, stored_assets(ctx.store, KIND_FORMS))
    if not any(f["id"] == form_id for f in forms):
        raise ApiError("702", f"Form {form_id} not found")
    delete_form_field(ctx.store, form_id, field_id)
    return envelope.asset_ok([{"id": form_id}])
