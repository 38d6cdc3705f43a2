"""``/rest/v1/activities``: types, paging tokens, activities, lead changes, deleted leads.

A paging token is a position in the activity id space (ids grow with time, see the
renumbering seeder). Like Marketo, a read scans a bounded range of ids per call and
returns what matches in it: a page can be short or EMPTY while ``moreResult`` is true,
and every response carries ``nextPageToken`` and ``moreResult`` so a client can resume
later from where it stopped. An empty page has no ``result`` key at all, as in Marketo.
"""

from __future__ import annotations

import bisect
import functools
import json
import math
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime
from json.encoder import encode_basestring as _quote
from random import Random
from typing import Any

from marketo_sandbox.api.control import ground_truth
from marketo_sandbox.api.leads import decode_token, encode_token
from marketo_sandbox.app import Ctx, router
from marketo_sandbox.envelope import ApiError, ok
from marketo_sandbox.model import activity_types as at
from marketo_sandbox.model.activity_types import ACTIVITY_TYPES, ACTIVITY_TYPES_BY_ID
from marketo_sandbox.model.leads import (
    FIELD_SPECS,
    FIELD_SPECS_BY_ID,
    activity_text,
    canonical_field,
    parse_datetime,
)
from marketo_sandbox.model.shared import KIND_CAMPAIGNS, KIND_PROGRAMS
from marketo_sandbox.seed import SeedSpec, seeder
from marketo_sandbox.store import Store, dumps

TOKEN_KIND = "act"  # noqa: S105 - a paging token prefix, not a secret
MAX_TYPE_IDS = 10
MAX_LEAD_IDS = 30
# Activity ids one call scans (Marketo pages through its activity store by range, so
# sparse types give empty pages). Tests shrink it with config extra.activity_scan_window.
DEFAULT_SCAN_WINDOW = 10_000
# Sequence row the activity seeder leaves: ids up to it already follow activityDate.
_ORDERED_THROUGH = "activity_date_ordered"
_OPTIONAL_KEYS = ("campaignId", "primaryAttributeValueId", "primaryAttributeValue")


def present(doc: dict[str, Any]) -> dict[str, Any]:
    """An activity as the REST API shows it: absent optional keys rather than nulls."""
    return {k: v for k, v in doc.items() if not (k in _OPTIONAL_KEYS and v is None)}


def _scan_window(ctx: Ctx) -> int:
    try:
        return max(1, int(ctx.config.extra.get("activity_scan_window", DEFAULT_SCAN_WINDOW)))
    except (TypeError, ValueError):
        return DEFAULT_SCAN_WINDOW


def _last_id(store: Store) -> int:
    row = store.query("SELECT value FROM sequences WHERE name='activity'")
    return int(row[0]["value"]) if row else 0


def _int_list(ctx: Ctx, name: str) -> list[int]:
    try:
        return [int(v) for v in ctx.list_arg(name)]
    except ValueError:
        raise ApiError("1003", f"Invalid value for {name}") from None


def _scan(ctx: Ctx, where: list[str], params: list[Any]) -> tuple[list[dict[str, Any]], int, bool]:
    """One call's range scan: (matching docs in id order, next position, more to read)."""
    position = decode_token(ctx.require("nextPageToken"), TOKEN_KIND)
    batch = ctx.batch_size()
    end = position + _scan_window(ctx)
    lead_ids = _int_list(ctx, "leadIds")
    if len(lead_ids) > MAX_LEAD_IDS:
        raise ApiError("1003", f"Number of leadIds exceeds {MAX_LEAD_IDS}")
    if lead_ids:
        where.append(f"leadId IN ({','.join('?' * len(lead_ids))})")
        params.extend(lead_ids)
    list_id = ctx.int_arg("listId")
    if list_id is not None:
        where.append("leadId IN (SELECT leadId FROM list_members WHERE listId=?)")
        params.append(list_id)
    rows = ctx.store.query(
        f"SELECT id, data FROM activities WHERE id >= ? AND id < ? AND {' AND '.join(where)} "  # noqa: S608
        "ORDER BY id LIMIT ?",
        [position, end, *params, batch],
    )
    next_position = rows[-1]["id"] + 1 if len(rows) == batch else end
    last = _last_id(ctx.store)
    next_position = max(position, min(next_position, last + 1))
    return [json.loads(r["data"]) for r in rows], next_position, next_position <= last


def _page(result: list[dict[str, Any]], position: int, more: bool) -> dict[str, Any]:
    return ok(result or None, nextPageToken=encode_token(TOKEN_KIND, position), moreResult=more)


@router.route("/rest/v1/activities/types.json", ("GET",))
def types(ctx: Ctx) -> dict[str, Any]:
    return ok(ACTIVITY_TYPES)


def position_at(store: Store, since: str) -> int:
    """The first activity id dated at or after ``since`` (or the next id to be issued)."""
    # Ids follow dates, so the date index's first entry is the position (no range scan).
    row = store.query(
        "SELECT id FROM activities WHERE activityDate >= ? ORDER BY activityDate, id LIMIT 1",
        (since,),
    )
    if row:
        return int(row[0]["id"])
    return _last_id(store) + 1


@router.route("/rest/v1/activities/pagingtoken.json", ("GET",))
def paging_token(ctx: Ctx) -> dict[str, Any]:
    text = ctx.require("sinceDatetime")
    since = parse_datetime(text)
    if since is None:
        raise ApiError("1001", f"Invalid value '{text}'. Required of type 'datetime'")
    position = position_at(ctx.store, since.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return ok(None, nextPageToken=encode_token(TOKEN_KIND, position))


@router.route("/rest/v1/activities.json", ("GET",))
def activities(ctx: Ctx) -> dict[str, Any]:
    type_ids = _int_list(ctx, "activityTypeIds")
    if not type_ids:
        raise ApiError("1003", "activityTypeIds cannot be blank")
    if len(set(type_ids)) > MAX_TYPE_IDS:
        raise ApiError("1003", f"Number of activityTypeIds exceeds {MAX_TYPE_IDS}")
    unknown = [t for t in type_ids if t not in ACTIVITY_TYPES_BY_ID]
    if unknown:
        raise ApiError("1003", f"Invalid activity type id '{unknown[0]}'")
    where = [f"activityTypeId IN ({','.join('?' * len(set(type_ids)))})"]
    params: list[Any] = list(dict.fromkeys(type_ids))
    asset_ids = _int_list(ctx, "assetIds")
    if asset_ids:
        if len(set(type_ids)) != 1:
            raise ApiError("1003", "assetIds can only be used with a single activity type id")
        where.append(
            f"json_extract(data, '$.primaryAttributeValueId') IN ({','.join('?' * len(asset_ids))})"
        )
        params.extend(asset_ids)
    docs, position, more = _scan(ctx, where, params)
    return _page([present(d) for d in docs], position, more)


def lead_change(doc: dict[str, Any]) -> dict[str, Any]:
    """A New Lead / Change Data Value activity as leadchanges.json shows it."""
    item: dict[str, Any] = {
        "id": doc["id"],
        "marketoGUID": doc["marketoGUID"],
        "leadId": doc["leadId"],
        "activityDate": doc["activityDate"],
        "activityTypeId": doc["activityTypeId"],
    }
    if doc.get("campaignId") is not None:
        item["campaignId"] = doc["campaignId"]
    attributes = doc.get("attributes") or []
    fields: list[dict[str, Any]] = []
    if doc["activityTypeId"] == at.CHANGE_DATA_VALUE:
        values = {a["name"]: a["value"] for a in attributes}
        spec = FIELD_SPECS_BY_ID.get(doc.get("primaryAttributeValueId") or -1)
        fields.append(
            {
                "id": doc.get("primaryAttributeValueId"),
                "name": spec.name if spec else doc.get("primaryAttributeValue"),
                "newValue": values.get("New Value"),
                "oldValue": values.get("Old Value"),
            }
        )
        attributes = [a for a in attributes if a["name"] not in ("New Value", "Old Value")]
    item["fields"] = fields
    item["attributes"] = attributes
    return item


@router.route("/rest/v1/activities/leadchanges.json", ("GET",))
def lead_changes(ctx: Ctx) -> dict[str, Any]:
    requested = ctx.list_arg("fields")
    if not requested:
        raise ApiError("1003", "fields cannot be blank")
    field_ids = []
    for name in requested:
        canonical = canonical_field(name)
        if canonical is None:
            raise ApiError("1006", f"Field '{name}' not found")
        field_ids.append(FIELD_SPECS[canonical].id)
    marks = ",".join("?" * len(field_ids))
    where = [
        f"(activityTypeId = ? OR (activityTypeId = ? AND "
        f"json_extract(data, '$.primaryAttributeValueId') IN ({marks})))"
    ]
    docs, position, more = _scan(ctx, where, [at.NEW_LEAD, at.CHANGE_DATA_VALUE, *field_ids])
    return _page([lead_change(d) for d in docs], position, more)


def deleted_lead(doc: dict[str, Any]) -> dict[str, Any]:
    item = present(doc)
    item["attributes"] = []
    return item


@router.route("/rest/v1/activities/deletedleads.json", ("GET",))
def deleted_leads(ctx: Ctx) -> dict[str, Any]:
    docs, position, more = _scan(ctx, ["activityTypeId = ?"], [at.DELETE_LEAD])
    return _page([deleted_lead(d) for d in docs], position, more)


# -- ground truth ----------------------------------------------------------------------


@ground_truth("activities")
def all_activities(store: Store) -> Iterator[dict[str, Any]]:
    for row in store.iterate("SELECT data FROM activities ORDER BY id"):
        yield present(json.loads(row["data"]))


@ground_truth("deleted_leads")
def all_deleted_leads(store: Store) -> Iterator[dict[str, Any]]:
    for row in store.iterate(
        "SELECT data FROM activities WHERE activityTypeId=? ORDER BY id", (at.DELETE_LEAD,)
    ):
        yield deleted_lead(json.loads(row["data"]))


# -- seed ------------------------------------------------------------------------------

# Relative volume of each type in a typical instance: email and web dominate.
_WEIGHTS: dict[int, float] = {
    at.VISIT_WEBPAGE: 22,
    at.FILL_OUT_FORM: 3,
    at.CLICK_LINK: 4,
    at.SEND_EMAIL: 16,
    at.EMAIL_DELIVERED: 15,
    at.EMAIL_BOUNCED: 0.6,
    at.UNSUBSCRIBE_EMAIL: 0.3,
    at.OPEN_EMAIL: 11,
    at.CLICK_EMAIL: 4,
    at.CHANGE_DATA_VALUE: 4,
    at.CONVERT_LEAD: 0.2,
    at.CHANGE_SCORE: 4,
    at.CHANGE_OWNER: 0.3,
    at.EMAIL_BOUNCED_SOFT: 0.8,
    at.INTERESTING_MOMENT: 1.5,
    at.CHANGE_REVENUE_STAGE: 0.6,
    at.CALL_WEBHOOK: 0.5,
    at.ATTENDED_TRADE_SHOW_BOOTH: 0.4,
    at.PRODUCT_TRIAL_STARTED: 0.4,
    at.PUSH_LEAD_TO_MARKETO: 0.3,
}
_PAGES = [
    (100 + i, p)
    for i, p in enumerate(
        (
            "https://www.example.com/",
            "https://www.example.com/pricing",
            "https://www.example.com/product/analytics",
            "https://www.example.com/product/automation",
            "https://www.example.com/customers",
            "https://www.example.com/blog/crm-sync",
            "https://www.example.com/blog/lead-scoring-101",
            "https://www.example.com/careers",
            "https://www.example.com/contact",
            "https://www.example.com/de/preise",
            "https://www.example.com/fr/tarifs",
            "https://www.example.com/webinars",
        )
    )
]
_FORMS = [
    (1001, "Contact Us"),
    (1002, "Demo Request"),
    (1003, "Webinar Registration"),
    (1004, "Whitepaper Download"),
]
_LINKS = [
    (5001, "https://www.example.com/ebook.pdf"),
    (5002, "https://www.example.com/roi-calculator"),
    (5003, "https://www.example.com/trial"),
]
_MAILINGS = [
    (2000 + i, name)
    for i, name in enumerate(
        (
            "Newsletter - January",
            "Newsletter - February",
            "Newsletter - March",
            "Webinar Invite: Q2 Roadmap",
            "Nurture 1 - Welcome",
            "Nurture 2 - Case Study",
            "Nurture 3 - Pricing",
            "Event Follow-up: SaaStr",
            "Product Update: Automation",
            "Renewal Reminder",
            "Trial Day 3 Tips",
            "Survey: How are we doing?",
        )
    )
]
_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0",
    "Mozilla/5.0 (Macintosh) Safari/17.4",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4) Mobile/15E148",
)
_CDV_FIELDS: dict[str, tuple[Any, ...]] = {
    "leadStatus": (
        "New",
        "Working",
        "Nurture",
        "Marketing Qualified",
        "Sales Qualified",
        "Customer",
    ),
    "title": (
        "Marketing Manager",
        "Director of Marketing",
        "VP Marketing",
        "Head of Growth",
        "CMO",
    ),
    "phone": ("+1 555 201 0001", "+1 555 202 0002", "+44 20 7946 0958", "+49 89 1234 5678"),
    "rating": ("Hot", "Warm", "Cold"),
    "preferredLanguage": ("English", "Deutsch", "Français", "日本語"),
    "seatsRequested": (5, 10, 25, 50, 100),
    "isCustomer": (True, False),
}
_CDV_REASONS = ("Changed by Smart Campaign", "Web form fillout", "Sales update", "Data enrichment")
_CDV_SOURCES = ("Marketo Flow Action", "Web form fillout", "Web service API", "Sales Insight")
_SCORE_REASONS = (
    "Visited pricing page",
    "Opened email",
    "Attended webinar",
    "Score decay",
    "Filled out form",
)


def _ts(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _ip(rng: Random) -> str:
    return f"198.51.100.{rng.randrange(1, 255)}"


class _ActivityFactory:
    """Builds seeded activities type by type, keeping lead field changes consistent."""

    def __init__(
        self,
        rng: Random,
        campaigns: list[int],
        programs: list[tuple[float, int, str]],
        initial: dict[int, dict[str, Any]],
    ) -> None:
        self.rng = rng
        self.campaigns = campaigns
        self.programs = programs
        # lead id -> current values of the fields seeded changes touch
        self.current = initial
        self.changed: dict[int, tuple[float, dict[str, Any]]] = {}

    def campaign(self) -> int | None:
        return (
            self.rng.choice(self.campaigns) if self.campaigns and self.rng.random() < 0.8 else None
        )

    def build(
        self, type_id: int, lead_id: int, t: float
    ) -> tuple[int | None, Any, dict[str, Any], int | None]:
        """(primaryAttributeValueId, primaryAttributeValue, attributes, campaignId)."""
        r = self.rng
        if type_id == at.VISIT_WEBPAGE:
            page_id, url = r.choice(_PAGES)
            return (
                page_id,
                url.split("example.com", 1)[1] or "/",
                {
                    "Client IP Address": _ip(r),
                    "Query Parameters": r.choice(("", "utm_source=google", "ref=nl")),
                    "Referrer URL": r.choice(
                        ("", "https://www.google.com/", "https://www.linkedin.com/")
                    ),
                    "User Agent": r.choice(_AGENTS),
                    "Webpage URL": url,
                },
                None,
            )
        if type_id == at.FILL_OUT_FORM:
            form_id, name = r.choice(_FORMS)
            page_id, _ = r.choice(_PAGES)
            return (
                form_id,
                name,
                {
                    "Client IP Address": _ip(r),
                    "Form Fields": json.dumps({"Email": "x", "Company": "y"}),
                    "Query Parameters": "",
                    "Referrer URL": "",
                    "User Agent": r.choice(_AGENTS),
                    "Webpage ID": page_id,
                },
                self.campaign(),
            )
        if type_id == at.CLICK_LINK:
            link_id, url = r.choice(_LINKS)
            page_id, _ = r.choice(_PAGES)
            return (
                link_id,
                url,
                {
                    "Client IP Address": _ip(r),
                    "Query Parameters": "",
                    "Referrer URL": "",
                    "User Agent": r.choice(_AGENTS),
                    "Webpage ID": page_id,
                },
                None,
            )
        if type_id in (at.SEND_EMAIL, at.EMAIL_DELIVERED):
            mailing_id, name = r.choice(_MAILINGS)
            return (
                mailing_id,
                name,
                {
                    "Campaign Run ID": r.randrange(1, 500),
                    "Choice Number": 0,
                    "Has Predictive": False,
                    "Step ID": r.randrange(1, 12),
                    "Test Variant": 0,
                },
                self.campaign(),
            )
        if type_id in (at.EMAIL_BOUNCED, at.EMAIL_BOUNCED_SOFT):
            mailing_id, name = r.choice(_MAILINGS)
            hard = type_id == at.EMAIL_BOUNCED
            return (
                mailing_id,
                name,
                {
                    "Campaign Run ID": r.randrange(1, 500),
                    "Category": "1" if hard else "4",
                    "Choice Number": 0,
                    "Details": "550 5.1.1 User unknown" if hard else "452 4.2.2 Mailbox full",
                    "Email": f"lead{lead_id}@example.org",
                    "Has Predictive": False,
                    "Step ID": 1,
                    "Subcategory": "1003" if hard else "4002",
                    "Test Variant": 0,
                },
                self.campaign(),
            )
        if type_id == at.UNSUBSCRIBE_EMAIL:
            mailing_id, name = r.choice(_MAILINGS)
            return (
                mailing_id,
                name,
                {
                    "Campaign Run ID": r.randrange(1, 500),
                    "Client IP Address": _ip(r),
                    "Form Fields": "{}",
                    "Has Predictive": False,
                    "Query Parameters": "",
                    "Referrer URL": "",
                    "Test Variant": 0,
                    "User Agent": r.choice(_AGENTS),
                    "Webform ID": 1005,
                    "Webpage ID": 199,
                },
                self.campaign(),
            )
        if type_id in (at.OPEN_EMAIL, at.CLICK_EMAIL):
            mailing_id, name = r.choice(_MAILINGS)
            mobile = r.random() < 0.4
            attrs: dict[str, Any] = {
                "Campaign Run ID": r.randrange(1, 500),
                "Choice Number": 0,
                "Device": "iPhone" if mobile else "Desktop",
                "Is Mobile Device": mobile,
                "Platform": "iOS" if mobile else "Windows",
                "Step ID": r.randrange(1, 12),
                "Test Variant": 0,
                "User Agent": r.choice(_AGENTS),
            }
            if type_id == at.CLICK_EMAIL:
                link_id, url = r.choice(_LINKS)
                attrs.update({"Is Predictive": False, "Link": url, "Link ID": str(link_id)})
            else:
                attrs["Has Predictive"] = False
            return mailing_id, name, attrs, self.campaign()
        if type_id == at.CHANGE_DATA_VALUE:
            return self._change_value(lead_id, t)
        if type_id == at.CHANGE_SCORE:
            return self._change_score(lead_id, t)
        if type_id == at.CONVERT_LEAD:
            return (
                lead_id,
                str(lead_id),
                {
                    "Account ID": f"001{r.randrange(10**11, 10**12)}",
                    "Assign To": "Sales Queue",
                    "Contact ID": f"003{r.randrange(10**11, 10**12)}",
                    "Converted Status": "Qualified",
                    "Converted to Contact": True,
                    "Opportunity ID": "",
                },
                None,
            )
        if type_id == at.CHANGE_OWNER:
            return (
                r.randrange(1, 20),
                "Lead Owner",
                {
                    "New Owner": r.choice(("Ana Costa", "Ben Okafor")),
                    "Old Owner": "Marketo Queue",
                    "Reason": "Round robin",
                },
                None,
            )
        if type_id == at.INTERESTING_MOMENT:
            desc = r.choice(
                (
                    "Visited pricing page 3 times",
                    "Downloaded the ROI calculator",
                    "Asked for a demo",
                )
            )
            return (
                None,
                desc,
                {"Date": _ts(t), "Source": "Web", "Type": r.choice(("Web", "Email", "Milestone"))},
                self.campaign(),
            )
        if type_id == at.CHANGE_REVENUE_STAGE:
            old, new = r.sample(((1, "Inquiry"), (2, "MQL"), (3, "SQL"), (4, "Opportunity")), 2)
            return (
                1,
                "Default Revenue Model",
                {
                    "New Stage ID": new[0],
                    "Old Stage ID": old[0],
                    "New Stage": new[1],
                    "Old Stage": old[1],
                    "Reason": "Stage rule",
                    "SLA Expiration": _ts(t + 7 * 86400),
                },
                None,
            )
        if type_id == at.PUSH_LEAD_TO_MARKETO:
            # A lead is pushed into a program that already exists.
            live = [p for p in self.programs if p[0] <= t] or self.programs[:1]
            _, program_id, name = r.choice(live)
            return (
                program_id,
                name,
                {
                    "Reason": r.choice(("Event registration", "Partner referral")),
                    "Source": r.choice(("Eventbrite", "Partner portal")),
                    "API Method Name": "pushLeadToMarketo",
                    "Modifying User": "integration@partner.example.com",
                },
                None,
            )
        if type_id == at.CALL_WEBHOOK:
            return (
                7,
                "Enrich via Clearbit",
                {
                    "Response": '{"status":"ok"}',
                    "Response Code": 200,
                    "Webhook": "Enrich via Clearbit",
                },
                self.campaign(),
            )
        if type_id == at.ATTENDED_TRADE_SHOW_BOOTH:
            return (
                None,
                f"B-{r.randrange(1, 40)}",
                {
                    "Event Name": r.choice(("SaaStr Annual", "Dreamforce", "DMEXCO Köln")),
                    "Visit Date": _ts(t)[:10],
                    "Minutes at Booth": r.randrange(2, 45),
                    "Badge Scanned": r.random() < 0.8,
                    "Estimated Budget": round(r.random() * 90_000, 2),
                    "Interest Level": round(r.random() * 5, 1),
                    "Follow-up At": _ts(t + 2 * 86400),
                    "Notes": "Wants pricing for 50 seats",
                },
                None,
            )
        if type_id == at.PRODUCT_TRIAL_STARTED:
            return (
                None,
                r.choice(("Analytics Pro", "Automation Suite")),
                {
                    "Trial Start": _ts(t),
                    "Trial Length Days": r.choice((14, 30)),
                    "Seats": r.randrange(1, 50),
                    "Conversion Probability": round(r.random(), 3),
                    "Plan Price": r.choice((49.0, 99.0, 499.0)),
                    "Signup URL": "https://www.example.com/trial",
                    "Billing Email": f"billing{lead_id}@example.org",
                    "Is Enterprise": r.random() < 0.2,
                },
                None,
            )
        raise ValueError(type_id)

    def _record(self, lead_id: int, t: float, field: str, value: Any) -> None:
        self.current.setdefault(lead_id, {})[field] = value
        _, changes = self.changed.get(lead_id, (0.0, {}))
        changes[field] = value
        self.changed[lead_id] = (t, changes)

    def _change_value(
        self, lead_id: int, t: float
    ) -> tuple[int | None, Any, dict[str, Any], int | None]:
        r = self.rng
        field = r.choice(tuple(_CDV_FIELDS))
        old = self.current.get(lead_id, {}).get(field)
        choices = [v for v in _CDV_FIELDS[field] if not (v == old and type(v) is type(old))]
        new = r.choice(choices)
        self._record(lead_id, t, field, new)
        spec = FIELD_SPECS[field]
        return (
            spec.id,
            spec.display_name,
            {
                "New Value": activity_text(new),
                "Old Value": activity_text(old),
                "Reason": r.choice(_CDV_REASONS),
                "Source": r.choice(_CDV_SOURCES),
            },
            self.campaign(),
        )

    def _change_score(
        self, lead_id: int, t: float
    ) -> tuple[int | None, Any, dict[str, Any], int | None]:
        r = self.rng
        field = "leadScore" if r.random() < 0.7 else "behaviorScore"
        old = self.current.get(lead_id, {}).get(field)
        delta = r.choice((5, 10, 15, 25, -5, -10))
        new = max(0, (old or 0) + delta)
        self._record(lead_id, t, field, new)
        spec = FIELD_SPECS[field]
        return (
            spec.id,
            spec.display_name,
            {
                "Change Value": f"{delta:+d}",
                "New Value": new,
                "Old Value": old,
                "Reason": r.choice(_SCORE_REASONS),
                "Urgency": round(r.random() * 100, 2),
                "Priority": r.randrange(0, 100),
                "Relative Score": r.randrange(1, 4),
                "Relative Urgency": r.randrange(1, 4),
            },
            self.campaign(),
        )


def _json_value(value: Any) -> str:
    """JSON text of a scalar, without the general encoder (a million activities to write)."""
    kind = type(value)
    if kind is str:
        return _quote(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float and math.isfinite(value):
        return repr(value)
    if value is None:
        return "null"
    return dumps(value)


@functools.lru_cache(maxsize=1024)
def _attribute_head(name: str, api_name: str | None) -> str:
    if api_name is None:
        return f'{{"name":{_quote(name)},"value":'
    return f'{{"apiName":{_quote(api_name)},"name":{_quote(name)},"value":'


def _custom_api_names(type_id: int) -> dict[str, str]:
    return {a["name"]: a["apiName"] for a in ACTIVITY_TYPES_BY_ID[type_id]["attributes"]}


_API_NAMES = {t: _custom_api_names(t) for t in ACTIVITY_TYPES_BY_ID if t >= 100000}


def _row(
    activity_id: int,
    lead_id: int,
    date: str,
    type_id: int,
    attrs: dict[str, Any],
    *,
    campaign: int | None = None,
    pav_id: int | None = None,
    pav: Any = None,
) -> tuple[int, int, str, int, str]:
    """One activities-table row, its document shaped as store.log_activity shapes it."""
    api_names = _API_NAMES.get(type_id)
    if api_names is not None:
        parts = [_attribute_head(k, api_names[k]) + _json_value(v) + "}" for k, v in attrs.items()]
    else:
        parts = [
            _attribute_head(k, None) + _json_value(v) + "}"
            for k, v in attrs.items()
            if v is not None
        ]
    doc = (
        f'{{"id":{activity_id},"marketoGUID":"{activity_id}","leadId":{lead_id},'
        f'"activityDate":"{date}","activityTypeId":{type_id},"campaignId":{_json_value(campaign)},'
        f'"primaryAttributeValueId":{_json_value(pav_id)},'
        f'"primaryAttributeValue":{_json_value(pav)},"attributes":[{",".join(parts)}]}}'
    )
    return activity_id, lead_id, date, type_id, doc


@seeder(50)
def seed_activities(store: Store, spec: SeedSpec, rng: Random, now: float) -> None:
    """spec.activities activities over the leads' lifetimes, written in date order.

    Activities other seeders logged earlier (program status changes, list adds...) are
    merged in, so the ids of everything up to now already follow activityDate.
    """
    leads = store.query(
        "SELECT id, createdAt, json_extract(data, '$.leadSource') AS src, "
        "json_extract(data, '$.originalSourceType') AS srcType FROM leads ORDER BY createdAt, id"
    )
    earliest = store.query("SELECT min(activityDate) AS d FROM activities")[0]["d"]
    if not leads and earliest is None:
        return
    campaigns = []
    for row in store.query("SELECT pk FROM objects WHERE kind=?", (KIND_CAMPAIGNS,)):
        try:
            campaigns.append(int(row["pk"]))
        except ValueError:
            continue
    watched = (*_CDV_FIELDS, "leadScore", "behaviorScore")
    initial: dict[int, dict[str, Any]] = {}
    for chunk_start in range(0, len(leads), 5000):
        ids = [r["id"] for r in leads[chunk_start : chunk_start + 5000]]
        select = ", ".join(f"json_extract(data, '$.{f}') AS {f}" for f in watched)
        marks = ",".join("?" * len(ids))
        sql = f"SELECT id, {select} FROM leads WHERE id IN ({marks})"  # noqa: S608
        for row in store.query(sql, ids):
            initial[row["id"]] = {f: row[f] for f in watched if row[f] is not None}
            if "isCustomer" in initial[row["id"]]:
                initial[row["id"]]["isCustomer"] = bool(initial[row["id"]]["isCustomer"])
    programs = []
    for row in store.query(
        "SELECT pk, createdAt, json_extract(data, '$.name') AS name FROM objects WHERE kind=?",
        (KIND_PROGRAMS,),
    ):
        created_at = parse_datetime(str(row["createdAt"] or ""))
        if str(row["pk"]).isdigit() and row["name"] and created_at is not None:
            programs.append((created_at.timestamp(), int(row["pk"]), str(row["name"])))
    programs.sort()
    factory = _ActivityFactory(rng, campaigns, programs, initial)

    created = [_epoch(r["createdAt"]) for r in leads]
    lead_ids = [r["id"] for r in leads]
    others = max(0, spec.activities - len(leads))
    # Pushes name the program a lead was pushed into: none without programs.
    type_ids = [t for t in _WEIGHTS if programs or t != at.PUSH_LEAD_TO_MARKETO]
    cum: list[float] = []
    total_weight = 0.0
    for type_id in type_ids:
        total_weight += _WEIGHTS[type_id]
        cum.append(total_weight)

    day = 86400
    first = min([*created[:1], *([_epoch(earliest)] if earliest else [])], default=now)
    start_day = math.floor(first / day) * day
    days = max(1, math.ceil((now - start_day) / day))
    # Activity volume follows the size of the database: each day gets a share
    # proportional to the leads alive by its end.
    alive = [bisect.bisect_right(created, min(now, start_day + (d + 1) * day)) for d in range(days)]
    total_alive = sum(alive) or 1

    next_lead = 0
    cumulative = 0.0
    issued = 0
    activity_id = 0
    batch: list[tuple[Any, ...]] = []
    renumbered: list[tuple[Any, ...]] = []

    def flush(db: sqlite3.Connection) -> None:
        db.executemany(
            "INSERT INTO activities(id, leadId, activityDate, activityTypeId, data) "
            "VALUES(?,?,?,?,?)",
            batch,
        )
        db.executemany(
            "INSERT INTO activities(id, leadId, activityDate, activityTypeId, data) "
            "VALUES(?,?,?,?,json_set(?, '$.id', ?, '$.marketoGUID', ?))",
            renumbered,
        )
        batch.clear()
        renumbered.clear()

    with store.transaction() as db:
        # Earlier seeders' activities are set aside and streamed back in date order.
        db.execute("DROP TABLE IF EXISTS _seed_earlier_activities")
        db.execute(
            "CREATE TABLE _seed_earlier_activities AS SELECT leadId, activityDate, activityTypeId, "
            "data FROM activities ORDER BY activityDate, id"
        )
        db.execute("DELETE FROM activities")
        # Filling an empty table then indexing it is far cheaper than a million index updates.
        indexes = [
            (r["name"], r["sql"])
            for r in db.execute(
                "SELECT name, sql FROM sqlite_master "
                "WHERE type='index' AND tbl_name='activities' AND sql IS NOT NULL"
            ).fetchall()
        ]
        for name, _ in indexes:
            db.execute(f'DROP INDEX "{name}"')
        earlier = db.execute(
            "SELECT leadId, activityDate, activityTypeId, data FROM _seed_earlier_activities "
            "ORDER BY rowid"
        )
        pending = earlier.fetchone()
        for d in range(days):
            day_start = start_day + d * day
            day_end = min(now, day_start + day)
            events: list[tuple[float, int, Any]] = []
            until = _ts(day_end) if d < days - 1 else "9999"
            while pending is not None and pending["activityDate"] < until:
                events.append((_epoch(pending["activityDate"]), 1, tuple(pending)))
                pending = earlier.fetchone()
            while next_lead < len(created) and created[next_lead] < day_end:
                events.append((created[next_lead], 0, next_lead))
                next_lead += 1
            cumulative += others * alive[d] / total_alive
            count = round(cumulative) - issued
            issued += count
            if count > 0 and alive[d] > 0:
                picks = rng.choices(type_ids, cum_weights=cum, k=count)
                for type_id in picks:
                    t = day_start + rng.random() * (day_end - day_start)
                    hi = bisect.bisect_right(created, t)
                    if hi == 0:
                        t = created[0]
                        hi = 1
                    # Recently created leads are the most engaged ones.
                    index = min(hi - 1, int(hi * math.sqrt(rng.random())))
                    events.append((t, 2, (index, type_id)))
            events.sort(key=lambda e: (e[0], e[1]))
            for t, kind, payload in events:
                activity_id += 1
                if kind == 1:
                    lead_id, date, type_id, raw = payload
                    renumbered.append(
                        (activity_id, lead_id, date, type_id, raw, activity_id, str(activity_id))
                    )
                elif kind == 0:
                    row = leads[payload]
                    attrs = {
                        "Created Date": row["createdAt"][:10],
                        "Lead Source": row["src"],
                        "Source Type": row["srcType"],
                    }
                    if row["srcType"] == "Web form fillout":
                        attrs["Form Name"] = rng.choice(_FORMS)[1]
                    elif row["srcType"] == "List import":
                        attrs["List Name"] = "Trade show import"
                    batch.append(_row(activity_id, row["id"], row["createdAt"], at.NEW_LEAD, attrs))
                else:
                    index, type_id = payload
                    lead_id = lead_ids[index]
                    pav_id, pav, attrs, campaign = factory.build(type_id, lead_id, t)
                    batch.append(
                        _row(
                            activity_id,
                            lead_id,
                            _ts(t),
                            type_id,
                            attrs,
                            campaign=campaign,
                            pav_id=pav_id,
                            pav=pav,
                        )
                    )
            if len(batch) + len(renumbered) >= 50_000:
                flush(db)
        flush(db)
        earlier.close()
        db.execute("DROP TABLE _seed_earlier_activities")
        for _, sql in indexes:
            db.execute(sql)
        db.execute(
            "INSERT INTO sequences(name, value) VALUES('activity', ?) "
            "ON CONFLICT(name) DO UPDATE SET value=max(value, excluded.value)",
            (activity_id,),
        )
        # Everything up to here is in date order: the renumbering pass starts after it.
        db.execute(
            "INSERT INTO sequences(name, value) VALUES(?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value=excluded.value",
            (_ORDERED_THROUGH, activity_id),
        )
        _apply_changes(db, factory.changed)


def _apply_changes(
    db: sqlite3.Connection, changed: dict[int, tuple[float, dict[str, Any]]]
) -> None:
    """Leads end up holding the last values their seeded change activities set."""
    ids = list(changed)
    updates = []
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT id, updatedAt, data FROM leads WHERE id IN ({marks})"  # noqa: S608
        rows = db.execute(sql, chunk).fetchall()
        for row in rows:
            last, values = changed[row["id"]]
            data = json.loads(row["data"])
            for field, value in values.items():
                data[field] = value
            updated = max(row["updatedAt"], _ts(last))
            data["updatedAt"] = updated
            updates.append((updated, dumps(data), row["id"]))
    db.executemany("UPDATE leads SET updatedAt=?, data=? WHERE id=?", updates)


def renumber_activities(store: Store) -> None:
    """Make activity ids (and marketoGUIDs) ascend with activityDate, as Marketo's do.

    Seeders log activities at past dates after later-dated ones exist; only the part of
    the id space that is out of date order is rewritten, so this stays cheap when the
    bulk of the activities was already written in order.
    """
    with store.transaction() as db:
        row = db.execute("SELECT value FROM sequences WHERE name=?", (_ORDERED_THROUGH,)).fetchone()
        ordered = int(row["value"]) if row else 0
        row = db.execute(
            "SELECT activityDate FROM activities WHERE id <= ? ORDER BY id DESC LIMIT 1", (ordered,)
        ).fetchone()
        floor = row["activityDate"] if row else ""
        first_bad = db.execute(
            "SELECT min(id) FROM (SELECT id, activityDate, max(activityDate) OVER "
            "(ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev "
            "FROM activities WHERE id > ?) WHERE activityDate < max(coalesce(prev, ''), ?)",
            (ordered, floor),
        ).fetchone()[0]
        if first_bad is not None:
            earliest = db.execute(
                "SELECT min(activityDate) FROM activities WHERE id >= ?", (first_bad,)
            ).fetchone()[0]
            # Everything before first_bad is in order: walk back to the last row that
            # may stay where it is.
            row = db.execute(
                "SELECT id FROM activities WHERE id < ? AND activityDate <= ? "
                "ORDER BY id DESC LIMIT 1",
                (first_bad, earliest),
            ).fetchone()
            keep = int(row["id"]) if row else 0
            db.execute("DROP TABLE IF EXISTS _activity_renumber")
            db.execute(
                "CREATE TABLE _activity_renumber AS SELECT "
                "row_number() OVER (ORDER BY activityDate, id) AS rn, "
                "leadId, activityDate, activityTypeId, data FROM activities WHERE id > ?",
                (keep,),
            )
            db.execute("DELETE FROM activities WHERE id > ?", (keep,))
            db.execute(
                "INSERT INTO activities(id, leadId, activityDate, activityTypeId, data) "
                "SELECT ? + rn, leadId, activityDate, activityTypeId, "
                "json_set(data, '$.id', ? + rn, '$.marketoGUID', CAST(? + rn AS TEXT)) "
                "FROM _activity_renumber ORDER BY rn",
                (keep, keep, keep),
            )
            db.execute("DROP TABLE _activity_renumber")
        last = db.execute("SELECT max(id) FROM activities").fetchone()[0]
        if last is not None:
            for name in ("activity", _ORDERED_THROUGH):
                db.execute(
                    "INSERT INTO sequences(name, value) VALUES(?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET value=excluded.value",
                    (name, last),
                )


@seeder(90)
def seed_renumber_activities(store: Store, spec: SeedSpec, rng: Random, now: float) -> None:
    renumber_activities(store)
