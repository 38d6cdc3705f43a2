"""Seeded activities of every type, then renumbered so activity ids grow with
activityDate as they do in Marketo (a paging token is an id position).
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import json
import math
import sqlite3
from collections.abc import Sequence
from json.encoder import encode_basestring as _quote
from random import Random
from typing import Any

from marketo_sandbox.config import SandboxConfig
from marketo_sandbox.domain import retention
from marketo_sandbox.domain.assets import APPROVED, KIND_LANDING_PAGES
from marketo_sandbox.domain.retention import Cutoffs
from marketo_sandbox.model import activity_types as at
from marketo_sandbox.model.activity_types import ACTIVITY_TYPES_BY_ID
from marketo_sandbox.model.leads import (
    FIELD_SPECS,
    activity_text,
)
from marketo_sandbox.model.shared import KIND_CAMPAIGNS, KIND_PROGRAMS
from marketo_sandbox.seed import SeedSpec, seeder, tables
from marketo_sandbox.store import Store, dumps
from marketo_sandbox.timestamps import format_ts, parse_datetime, to_epoch

# Sequence row the activity seeder leaves: ids up to it already follow activityDate.
_ORDERED_THROUGH = "activity_date_ordered"

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


_TABLES = tables("activities")
_PAGES = _TABLES["web_pages"]
_FORMS = _TABLES["forms"]
_LINKS = _TABLES["links"]
_MAILINGS = _TABLES["emails"]
_AGENTS = _TABLES["user_agents"]


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


_CDV_REASONS = _TABLES["change_reasons"]
_CDV_SOURCES = _TABLES["change_sources"]
_SCORE_REASONS = _TABLES["score_reasons"]


# Share of web visits that land on a Marketo landing page rather than the company site.
_LANDING_PAGE_SHARE = 0.3
# What becomes of a send, in the order it can happen: delivered (or bounced), opened,
# clicked (or unsubscribed). An email activity names its send by the mailing, the
# campaign, the campaign run and the lead (the key reports join them on).
_SENT, _DELIVERED, _OPENED, _CLICKED = range(4)
_OUTCOME_STAGE = {
    at.EMAIL_DELIVERED: _DELIVERED,
    at.EMAIL_BOUNCED: _DELIVERED,
    at.EMAIL_BOUNCED_SOFT: _DELIVERED,
    at.OPEN_EMAIL: _OPENED,
    at.CLICK_EMAIL: _CLICKED,
    at.UNSUBSCRIBE_EMAIL: _CLICKED,
}


@dataclasses.dataclass
class _Send:
    lead_id: int
    mailing_id: int
    name: str
    campaign: int | None
    run_id: int
    step_id: int
    stage: int = _SENT


class _Sends:
    """The seeded sends, for the email activities that follow them.

    An outcome drawn for a lead names that lead's latest send when it is ready for it (a
    delivery for a send not yet delivered, an open for one delivered, ...); otherwise
    the latest send of any lead that is ready, and the activity becomes that lead's (the
    draw picked an activity type and a time; a send decides whose it is). Failing both,
    an open or click can be another of the lead's latest send; else the activity stays
    as drawn, without a send (as one whose send is older than the seed would be)."""

    def __init__(self) -> None:
        self.latest: dict[int, _Send] = {}
        # Sends waiting for each stage, latest last (a stack: outcomes follow soon).
        self.waiting: dict[int, list[_Send]] = {s: [] for s in (_DELIVERED, _OPENED, _CLICKED)}

    def sent(self, send: _Send) -> None:
        self.latest[send.lead_id] = send
        self.waiting[_DELIVERED].append(send)

    def follow(self, type_id: int, lead_id: int) -> _Send | None:
        """The send an outcome of ``type_id`` drawn for ``lead_id`` belongs to."""
        stage = _OUTCOME_STAGE[type_id]
        own = self.latest.get(lead_id)
        send = own if own is not None and own.stage == stage - 1 else self._next(stage)
        if send is None:
            # Another open or click of the lead's latest send; never a second delivery.
            return own if own is not None and own.stage >= stage > _DELIVERED else None
        send.stage = stage
        if stage + 1 in self.waiting:
            self.waiting[stage + 1].append(send)
        return send

    def _next(self, stage: int) -> _Send | None:
        waiting = self.waiting[stage]
        while waiting:
            send = waiting.pop()
            if send.stage == stage - 1:  # not already taken by its own lead's outcome
                return send
        return None


def _ip(rng: Random) -> str:
    return f"198.51.100.{rng.randrange(1, 255)}"


def _url_path(url: str) -> str:
    """A visit's primaryAttributeValue: the page's path (Adobe's example: "home.html")."""
    return url.split("example.com", 1)[1] or "/"


class _ActivityFactory:
    """Builds seeded activities type by type, keeping lead field changes consistent.

    Activities are built in date order, so an email's deliveries, bounces, opens, clicks
    and unsubscribes follow a send made before them (``_Sends``), and a visit can land
    on a landing page that exists by then. The links use no draw of ``rng`` (the visits'
    come from ``links``, a random stream of their own), so every other seeded value stays
    what it was before they were made.
    """

    def __init__(
        self,
        rng: Random,
        campaigns: list[int],
        programs: list[tuple[float, int, str]],
        initial: dict[int, dict[str, Any]],
        *,
        landing_pages: Sequence[tuple[float, int, str]] = (),
        links: Random | None = None,
    ) -> None:
        self.rng = rng
        self.campaigns = campaigns
        self.programs = programs
        # lead id -> current values of the fields seeded changes touch
        self.current = initial
        self.changed: dict[int, tuple[float, dict[str, Any]]] = {}
        # (createdAt epoch, id, URL) of the landing pages with an approved version
        self.landing_pages = sorted(landing_pages)
        self.links = links or Random(0)
        self.sends = _Sends()

    def campaign(self) -> int | None:
        return (
            self.rng.choice(self.campaigns) if self.campaigns and self.rng.random() < 0.8 else None
        )

    def build(
        self, type_id: int, lead_id: int, t: float
    ) -> tuple[int, int | None, Any, dict[str, Any], int | None]:
        """(leadId, primaryAttributeValueId, primaryAttributeValue, attributes,
        campaignId); the lead is ``lead_id`` unless the activity follows another's send."""
        pav_id, pav, attrs, campaign = self._draw(type_id, lead_id, t)
        if type_id == at.VISIT_WEBPAGE:
            pav_id, pav, attrs = self._land(pav_id, pav, attrs, t)
        elif type_id == at.SEND_EMAIL:
            assert pav_id is not None
            self.sends.sent(
                _Send(lead_id, pav_id, pav, campaign, attrs["Campaign Run ID"], attrs["Step ID"])
            )
        elif type_id in _OUTCOME_STAGE:
            send = self.sends.follow(type_id, lead_id)
            if send is not None:
                attrs = {**attrs, "Campaign Run ID": send.run_id}
                if "Step ID" in attrs:
                    attrs["Step ID"] = send.step_id
                if "Email" in attrs:  # a bounce names the address it bounced from
                    attrs["Email"] = f"lead{send.lead_id}@example.org"
                return send.lead_id, send.mailing_id, send.name, attrs, send.campaign
        return lead_id, pav_id, pav, attrs, campaign

    def _land(
        self, pav_id: int | None, pav: Any, attrs: dict[str, Any], t: float
    ) -> tuple[int | None, Any, dict[str, Any]]:
        """A share of visits is to a landing page live at ``t`` (its id is the Webpage ID)."""
        live = self.landing_pages[: bisect.bisect_right(self.landing_pages, (t, math.inf, ""))]
        if not live or self.links.random() >= _LANDING_PAGE_SHARE:
            return pav_id, pav, attrs
        _, page_id, url = self.links.choice(live)
        return page_id, _url_path(url), {**attrs, "Webpage URL": url}

    def _draw(
        self, type_id: int, lead_id: int, t: float
    ) -> tuple[int | None, Any, dict[str, Any], int | None]:
        r = self.rng
        if type_id == at.VISIT_WEBPAGE:
            page_id, url = r.choice(_PAGES)
            return (
                page_id,
                _url_path(url),
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
                {
                    "Date": format_ts(t),
                    "Source": "Web",
                    "Type": r.choice(("Web", "Email", "Milestone")),
                },
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
                    "SLA Expiration": format_ts(t + 7 * 86400),
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
                    "Visit Date": format_ts(t)[:10],
                    "Minutes at Booth": r.randrange(2, 45),
                    "Badge Scanned": r.random() < 0.8,
                    "Estimated Budget": round(r.random() * 90_000, 2),
                    "Interest Level": round(r.random() * 5, 1),
                    "Follow-up At": format_ts(t + 2 * 86400),
                    "Notes": "Wants pricing for 50 seats",
                },
                None,
            )
        if type_id == at.PRODUCT_TRIAL_STARTED:
            return (
                None,
                r.choice(("Analytics Pro", "Automation Suite")),
                {
                    "Trial Start": format_ts(t),
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


@seeder(50, "marketo_sandbox.api.activities.seed_activities")
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
    landing_pages = {
        int(page["id"]): (to_epoch(page["createdAt"]), int(page["id"]), str(page["URL"]))
        for page in store.objects(KIND_LANDING_PAGES)
        if page.get("status") == APPROVED
    }
    factory = _ActivityFactory(
        rng,
        campaigns,
        programs,
        initial,
        landing_pages=list(landing_pages.values()),
        # The links' own stream: rng's draws stay as they were before links were made.
        links=Random(f"{spec.random_seed}:activity-links"),
    )

    created = [to_epoch(r["createdAt"]) for r in leads]
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
    # Only what Marketo still serves a day after the anchor is stored (activity
    # retention, see domain.retention): no 10-month-old Visit Webpage, and a test running
    # within that day reads the same rows from the API as from the ground truth.
    served = seed_retention(now)
    first = min([*created[:1], *([to_epoch(earliest)] if earliest else [])], default=now)
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
            until = format_ts(day_end) if d < days - 1 else "9999"
            while pending is not None and pending["activityDate"] < until:
                events.append((to_epoch(pending["activityDate"]), 1, tuple(pending)))
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
                if kind == 1:
                    lead_id, date, type_id, raw = payload
                    if not served.kept(type_id, date):
                        continue
                    activity_id += 1
                    renumbered.append(
                        (activity_id, lead_id, date, type_id, raw, activity_id, str(activity_id))
                    )
                elif kind == 0:
                    activity_id += 1
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
                    # Built even when Marketo has pruned it: the lead keeps the values
                    # its old changes set, as a real lead does once its log is pruned.
                    lead_id, pav_id, pav, attrs, campaign = factory.build(type_id, lead_id, t)
                    date = format_ts(t)
                    if not served.kept(type_id, date):
                        continue
                    activity_id += 1
                    batch.append(
                        _row(
                            activity_id,
                            lead_id,
                            date,
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


def seed_retention(now: float) -> Cutoffs:
    """Retention as a seed applies it: Marketo's default policy a day after ``now``."""
    found = retention.cutoffs(SandboxConfig(activity_retention=True), now + 86400)
    assert found is not None
    return found


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
            updated = max(row["updatedAt"], format_ts(last))
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


@seeder(90, "marketo_sandbox.api.activities.seed_renumber_activities")
def seed_renumber_activities(store: Store, spec: SeedSpec, rng: Random, now: float) -> None:
    renumber_activities(store)
