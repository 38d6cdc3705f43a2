"""Smart campaigns (lead database API): read, request (trigger) and schedule.

The sandbox runs no flows; each accepted request or schedule is kept as a document
(kind ``campaign_requests``) so tests and the control API can see what was asked of
Marketo.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from marketo_sandbox import envelope
from marketo_sandbox.app import Ctx, router
from marketo_sandbox.domain.campaigns import (
    campaign,
    campaigns,
    delete_campaign,
    is_triggerable,
    record_request,
    render_campaign,
)
from marketo_sandbox.domain.objects import (
    as_int,
    decode_page_token,
    encode_page_token,
    existing_lead_ids,
)
from marketo_sandbox.domain.workspaces import in_reach, visible
from marketo_sandbox.envelope import ApiError
from marketo_sandbox.model.shared import KIND_CAMPAIGNS
from marketo_sandbox.timestamps import format_datetime, parse_datetime

MAX_TRIGGER_LEADS = 100

MAX_TOKENS = 100

# Schedule Campaign: runAt at most two years ahead (1042); without runAt, five minutes.
MAX_RUN_AHEAD = timedelta(days=730)

DEFAULT_RUN_DELAY = timedelta(minutes=5)

_TOKEN_NAME = re.compile(r"^\{\{my\.[^{}]+\}\}$")


def _require_campaign(ctx: Ctx, campaign_id: int) -> dict[str, Any]:
    found = in_reach(ctx.config, ctx.store, KIND_CAMPAIGNS, campaign(ctx.store, campaign_id))
    if found is None:
        raise ApiError("1013", "Campaign not found")
    return found


@router.route("/rest/v1/campaigns.json", ("GET",))
def get_campaigns(ctx: Ctx) -> dict[str, Any]:
    ids = {str(i) for i in ctx.list_arg("id")}
    names = set(ctx.list_arg("name"))
    program_names = set(ctx.list_arg("programName"))
    workspaces = set(ctx.list_arg("workspaceName"))
    triggerable = (ctx.arg("isTriggerable") or "").strip().lower()
    batch = ctx.batch_size()
    state = decode_page_token(ctx.arg("nextPageToken"), "campaigns")
    after = int(state.get("a", 0)) if state else 0
    selected = [
        c for c in visible(ctx.config, ctx.store, KIND_CAMPAIGNS, campaigns(ctx.store))
        if c["id"] > after
        and (not ids or str(c["id"]) in ids)
        and (not names or c["name"] in names)
        and (not program_names or c.get("programName") in program_names)
        and (not workspaces or c.get("workspaceName") in workspaces)
        and (triggerable != "true" or is_triggerable(c))
    ]
    page = selected[:batch]
    extra: dict[str, Any] = {}
    if len(selected) > batch:
        extra["nextPageToken"] = encode_page_token({"s": "campaigns", "a": page[-1]["id"]})
    return envelope.ok([render_campaign(c) for c in page], **extra)


@router.route("/rest/v1/campaigns/<int:campaign_id>.json", ("GET",))
def get_campaign(ctx: Ctx, campaign_id: int) -> dict[str, Any]:
    return envelope.ok([render_campaign(_require_campaign(ctx, campaign_id))])


def _tokens(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ApiError("1003", "tokens must be a list")
    if len(raw) > MAX_TOKENS:
        raise ApiError("1003", f"tokens cannot exceed {MAX_TOKENS}")
    out = []
    for token in raw:
        if not isinstance(token, dict) or not _TOKEN_NAME.match(str(token.get("name", ""))):
            raise ApiError("1003", "Token names must be formatted as {{my.name}}")
        out.append({"name": token["name"], "value": token.get("value")})
    return out


@router.route("/rest/v1/campaigns/<int:campaign_id>/trigger.json", ("POST",))
def trigger_campaign(ctx: Ctx, campaign_id: int) -> dict[str, Any]:
    item = _require_campaign(ctx, campaign_id)
    body = ctx.json(required=False) or {}
    data = body.get("input") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("leads"), list) or not data["leads"]:
        raise ApiError("1003", "input.leads cannot be blank")
    leads = data["leads"]
    if len(leads) > MAX_TRIGGER_LEADS:
        raise ApiError("1003", f"Number of leads exceeds {MAX_TRIGGER_LEADS}")
    if item["type"] != "trigger" or not item.get("_requestable"):
        # Adobe lists "using Request Campaign on a batch campaign" under 1003.
        raise ApiError(
            "1003",
            f"Trigger campaign '{item['name']}' does not have a 'Campaign is Requested' trigger",
        )
    if not item.get("active"):
        raise ApiError("1003", f"Trigger campaign '{item['name']}' is not active")
    tokens = _tokens(data.get("tokens"))
    ids = [as_int(lead.get("id")) if isinstance(lead, dict) else None for lead in leads]
    present = existing_lead_ids(ctx.store, [i for i in ids if i is not None])
    record_request(ctx.store, {
        "type": "trigger",
        "campaignId": campaign_id,
        "campaignName": item["name"],
        # Unknown leads are dropped silently, as Marketo does.
        "leadIds": [i for i in ids if i in present],
        "skippedLeadIds": [lead.get("id") if isinstance(lead, dict) else lead
                           for lead, i in zip(leads, ids, strict=True) if i not in present],
        "tokens": tokens,
    })
    return envelope.ok([{"id": campaign_id}])


@router.route("/rest/v1/campaigns/<int:campaign_id>/schedule.json", ("POST",), fidelity_only=True)
def schedule_campaign(ctx: Ctx, campaign_id: int) -> dict[str, Any]:
    item = _require_campaign(ctx, campaign_id)
    body = ctx.json(required=False) or {}
    data = body.get("input") if isinstance(body, dict) else None
    data = data if isinstance(data, dict) else {}
    if item["type"] != "batch":
        raise ApiError("1003", f"Campaign '{item['name']}' is not a batch campaign")
    now = parse_datetime(ctx.store.now_ts())
    assert now is not None
    if data.get("runAt") is None:
        run_at = now + DEFAULT_RUN_DELAY
    else:
        parsed = parse_datetime(data["runAt"])
        if parsed is None:
            raise ApiError("1001", f"Invalid value '{data['runAt']}'. Required of type 'datetime'")
        if parsed > now + MAX_RUN_AHEAD:
            raise ApiError("1042", "Invalid runAt date")
        # Campaigns scheduled via the API always wait at least five minutes.
        run_at = max(parsed, now + DEFAULT_RUN_DELAY)
    record_request(ctx.store, {
        "type": "schedule",
        "campaignId": campaign_id,
        "campaignName": item["name"],
        "runAt": format_datetime(run_at),
        "cloneToProgramName": data.get("cloneToProgramName"),
        "tokens": _tokens(data.get("tokens")),
    })
    return envelope.ok([{"id": campaign_id}])


@router.route(
    "/rest/asset/v1/smartCampaign/<int:campaign_id>/delete.json", ("POST",), fidelity_only=True
)
def delete_smart_campaign(ctx: Ctx, campaign_id: int) -> dict[str, Any]:
    found = in_reach(ctx.config, ctx.store, KIND_CAMPAIGNS, campaign(ctx.store, campaign_id))
    if found is None or not delete_campaign(ctx.store, campaign_id):
        raise ApiError("702", f"Smart campaign {campaign_id} not found")
    return envelope.asset_ok([{"id": campaign_id}])
