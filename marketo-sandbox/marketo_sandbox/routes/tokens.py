"""My Tokens of a program or a Marketing Activities folder (asset API).

Get Tokens by Folder Id answers one item, ``{"folder": {"type", "value"}, "tokens":
[...]}``, holding the tokens defined on that program or folder itself (tokens its parents
define are not repeated). ``folderType`` says whether the id is a program's or a
folder's. A token is deleted by holder, name and type, sent as a form; the delete
answers the holder's id.
"""

from __future__ import annotations

from typing import Any

from marketo_sandbox import envelope
from marketo_sandbox.app import Ctx, router
from marketo_sandbox.domain.assets import KIND_FOLDERS
from marketo_sandbox.domain.marketing_assets import (
    KIND_TOKENS,
    TOKEN_HOLDERS,
    remove,
    render_token,
    tokens_of,
)
from marketo_sandbox.domain.programs import program
from marketo_sandbox.domain.workspaces import in_reach
from marketo_sandbox.envelope import ApiError
from marketo_sandbox.model.shared import KIND_PROGRAMS


def _form_arg(ctx: Ctx, name: str) -> str | None:
    """A parameter of a form POST (Marketo's token writes), or of the query."""
    return ctx.request.form.get(name) or ctx.arg(name)


def _holder(ctx: Ctx, holder_id: int) -> str:
    holder = _form_arg(ctx, "folderType") or "Folder"
    if holder not in TOKEN_HOLDERS:
        raise ApiError("1003", f"Invalid folderType '{holder}': must be Program or Folder")
    kind = KIND_PROGRAMS if holder == "Program" else KIND_FOLDERS
    found = program(ctx.store, holder_id) if holder == "Program" else ctx.store.object_get(
        KIND_FOLDERS, holder_id
    )
    if in_reach(ctx.config, ctx.store, kind, found) is None:
        raise ApiError("702", f"{holder} {holder_id} not found")
    return holder


@router.route("/rest/asset/v1/folder/<int:holder_id>/tokens.json", ("GET",))
def get_tokens(ctx: Ctx, holder_id: int) -> dict[str, Any]:
    holder = _holder(ctx, holder_id)
    tokens = tokens_of(ctx.store, holder, holder_id)
    return envelope.asset_ok(
        [
            {
                "folder": {"type": holder, "value": holder_id},
                "tokens": [render_token(t) for t in tokens],
            }
        ]
    )


@router.route("/rest/asset/v1/folder/<int:holder_id>/tokens/delete.json", ("POST",))
def delete_token(ctx: Ctx, holder_id: int) -> dict[str, Any]:
    holder = _holder(ctx, holder_id)
    name = _form_arg(ctx, "name")
    token_type = _form_arg(ctx, "type")
    if not name or not token_type:
        raise ApiError("701", "name and type cannot be blank")
    tokens = tokens_of(ctx.store, holder, holder_id)
    gone = [t for t in tokens if t["name"] == name and t["type"] == token_type]
    if not gone:
        raise ApiError("702", f"Token '{name}' of type '{token_type}' not found")
    remove(ctx.store, KIND_TOKENS, gone)
    return envelope.asset_ok([{"id": holder_id}])
