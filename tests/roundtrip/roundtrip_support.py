"""Support of the round-trip check: run the tap and the target in process against the
session's sandbox, build a CRM change set from the seeded instance, and compare what the
tap reads back with what the target wrote.

Local on purpose: the tap's and the target's test helpers live in folders pytest puts on
``sys.path`` only for their own tests, so this folder carries the little it needs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import run_clock
from marketo_sandbox.model.objects import CHANNELS
from marketo_sandbox.testing import SandboxControl
from singer_output import SingerOutput
from tap_marketo_crm.tap import TapMarketoCRM
from target_marketo_crm import TargetMarketoCRM

START_DATE = "2025-06-01T00:00:00Z"  # before every record of the `small` seed
# The sandbox without its rate window (not what this check is about).
FAST_SANDBOX = {"rate_limit_calls": 100_000, "max_concurrent_calls": 10}
DELETED_AT = "2026-11-21T10:00:00Z"  # when the CRM deleted something (only its presence counts)
LOOKUP = "crmContactId"  # the lead custom field holding the CRM's contact id

# New records of the change set (prefixes no seeded record uses).
NEW_LEAD = "CRM-RT-NEW-1"
NEW_SALESPERSON = "SP-RT-NEW"
NEW_COMPANY = "ACC-RT-NEW"
CONVERTED_COMPANY = "ACC-RT-CONV"
NEW_OPPORTUNITY = "OPP-RT-1"
NEW_VIN = "VIN-RT-0001"

DATETIME_FIELDS = {"lastTradeShowAt", "_sdc_deleted_at"}


# --- running the tap and the target ---------------------------------------------------------


def tap_config(info: Mapping[str, str]) -> dict[str, Any]:
    return {
        **info,  # the connection settings: endpoint, identity, client id and secret
        "start_date": START_DATE,
        "bulk_poll_interval_seconds": 0.01,
        "rate_limit_calls": 100_000,
    }


def target_config(info: Mapping[str, str], reject_file: str) -> dict[str, Any]:
    return {
        **info,  # the connection settings: endpoint, identity, client id and secret
        "lookup_field": LOOKUP,
        "reject_file": reject_file,
        "rate_limit_calls": 1_000_000,
    }


@dataclass
class TapRun(SingerOutput):
    incomplete: bool = False

    def activity_type(self, stream: str) -> int | None:
        """The activity type an ``activities_*`` stream holds (its schema's enum)."""
        prop = self.schemas.get(stream, {}).get("properties", {}).get("activityTypeId") or {}
        values = prop.get("enum") or []
        return int(values[0]) if values else None


def discover(config: dict[str, Any]) -> dict[str, Any]:
    """The tap's catalog (every stream selected), as `--discover` writes it."""
    tap = TapMarketoCRM(config=config)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            catalog = tap.catalog_dict
    finally:
        if tap._client is not None:
            tap._client.close()
    return json.loads(json.dumps(catalog))


def run_tap(
    config: dict[str, Any], catalog: dict[str, Any], state: dict[str, Any] | None = None
) -> TapRun:
    """One sync in this process, its Singer messages captured from stdout. A run from state
    starts in a later whole second than the previous run ended (``run_clock``)."""
    if state:
        run_clock.wait_for_next_second()
    out = io.StringIO()
    tap = TapMarketoCRM(config=config, catalog=catalog, state=state or {})
    try:
        with contextlib.redirect_stdout(out):
            tap.sync_all()
    finally:
        if tap._client is not None:
            tap._client.close()
    run_clock.run_ended()
    messages = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    return TapRun(messages, incomplete=tap.run.incomplete)


@dataclass
class TargetRun:
    target: TargetMarketoCRM
    states: list[dict[str, Any]]

    @property
    def outcomes(self) -> dict[str, int]:
        return dict(self.target.writer.tally.outcomes)


def run_target(config: dict[str, Any], messages: Iterable[dict[str, Any]]) -> TargetRun:
    """The target on these Singer messages, like `target-marketo-crm --config c < file`."""
    text = "".join(json.dumps(m) + "\n" for m in messages)
    target = TargetMarketoCRM(config=config, parse_env_config=False)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        target.listen(io.StringIO(text))
    states = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    return TargetRun(target, states)


# --- the CRM change set ---------------------------------------------------------------------


def singer_messages(
    streams: Mapping[str, tuple[list[str], list[dict[str, Any]]]], state: dict[str, Any]
) -> list[dict[str, Any]]:
    """SCHEMA + RECORDs per stream (schema inferred from the records), then a STATE."""
    out: list[dict[str, Any]] = []
    for stream, (keys, records) in streams.items():
        properties: dict[str, Any] = {}
        for record in records:
            for name, value in record.items():
                properties.setdefault(name, _json_type(name, value))
        properties["_sdc_deleted_at"] = {"type": ["string", "null"], "format": "date-time"}
        out.append({"type": "SCHEMA", "stream": stream, "key_properties": keys,
                    "schema": {"type": "object", "properties": properties}})
        out.extend({"type": "RECORD", "stream": stream, "record": r} for r in records)
    out.append({"type": "STATE", "value": state})
    return out


def _json_type(name: str, value: Any) -> dict[str, Any]:
    if name in DATETIME_FIELDS:
        return {"type": ["string", "null"], "format": "date-time"}
    if isinstance(value, bool):
        return {"type": ["boolean", "null"]}
    if isinstance(value, int):
        return {"type": ["integer", "null"]}
    if isinstance(value, float):
        return {"type": ["number", "null"]}
    return {"type": ["string", "null"]}


@dataclass
class Picks:
    """The seeded records the change set touches, chosen so that no two changes touch the
    same record and the untouched rest of the instance stays a clean control group."""

    changed_lead: dict[str, Any]
    converted_lead: dict[str, Any]
    deleted_lead: dict[str, Any]
    listed_lead: dict[str, Any]  # added to a static list (the lead itself unchanged)
    changed_company: dict[str, Any]
    changed_salesperson: dict[str, Any]
    deleted_role: dict[str, Any]
    member: dict[str, Any]  # a program membership moved to a later status
    new_status: str
    removed_member: dict[str, Any]  # a static list membership removed
    add_list_id: int
    changed_car: dict[str, Any]
    crm_of: dict[int, str]  # lead id -> crmContactId

    @property
    def lead_ids(self) -> set[int]:
        return {int(lead["id"]) for lead in (
            self.changed_lead, self.converted_lead, self.deleted_lead, self.listed_lead)}


def pick(sandbox: SandboxControl) -> Picks:
    leads = sorted(sandbox.objects("leads"), key=lambda r: r["id"])
    crm_of = {int(r["id"]): r[LOOKUP] for r in leads if r.get(LOOKUP)}
    roles = sorted(sandbox.objects("opportunity_roles"), key=lambda r: r["marketoGUID"])
    program_members = sorted(sandbox.objects("program_members"),
                             key=lambda m: (m["programId"], m["leadId"]))
    list_members = sorted(sandbox.objects("list_members"), key=lambda m: (m["listId"], m["leadId"]))
    cars = sorted(sandbox.objects("customobjects/car_c"), key=lambda c: c["vin"])
    companies = sorted(sandbox.objects("companies"), key=lambda c: c["id"])
    salespersons = sorted(sandbox.objects("salespersons"), key=lambda s: s["id"])
    programs = {p["id"]: p for p in sandbox.objects("programs")}
    lists = sorted(sandbox.objects("lists"), key=lambda x: x["id"])

    busy = (
        {r["leadId"] for r in roles} | {m["leadId"] for m in program_members}
        | {m["leadId"] for m in list_members} | {c.get("leadId") for c in cars}
    )
    # Leads with no company, no owner and nothing hanging off them.
    free = [
        lead for lead in leads
        if lead.get(LOOKUP) and not lead.get("externalCompanyId")
        and not lead.get("externalSalesPersonId") and lead["id"] not in busy
    ]
    changed_lead, converted_lead, deleted_lead, listed_lead = free[:4]
    taken = {lead["id"] for lead in free[:4]}

    # The company with the fewest linked leads: its change reaches them (Marketo shows a
    # linked lead's company fields from its company).
    linked: dict[str, int] = defaultdict(int)
    for lead in leads:
        if lead.get("externalCompanyId"):
            linked[lead["externalCompanyId"]] += 1
    changed_company = min(
        (c for c in companies if linked.get(c["externalCompanyId"])),
        key=lambda c: (linked[c["externalCompanyId"]], c["id"]),
    )
    company_leads = {
        lead["id"] for lead in leads
        if lead.get("externalCompanyId") == changed_company["externalCompanyId"]
    }
    taken |= company_leads

    def usable(lead_id: Any) -> bool:
        return lead_id in crm_of and lead_id not in taken

    deleted_role = next(r for r in roles if usable(r["leadId"]))
    taken.add(deleted_role["leadId"])
    member, new_status = None, None
    for candidate in program_members:
        if not usable(candidate["leadId"]):
            continue
        channel = CHANNELS[programs[candidate["programId"]]["channel"]]
        current = channel.status(candidate["statusName"])
        later = [s for s in channel.statuses if current is not None and s.step > current.step]
        if later:
            member, new_status = candidate, min(later, key=lambda s: s.step).name
            break
    assert member is not None, "no program member can move to a later status"
    assert new_status is not None
    taken.add(member["leadId"])
    removed_member = next(m for m in list_members if usable(m["leadId"]))
    taken.add(removed_member["leadId"])
    changed_car = next(c for c in cars if usable(c.get("leadId")))
    return Picks(
        changed_lead=changed_lead, converted_lead=converted_lead, deleted_lead=deleted_lead,
        listed_lead=listed_lead, changed_company=changed_company,
        changed_salesperson=salespersons[0], deleted_role=deleted_role, member=member,
        new_status=new_status, removed_member=removed_member, add_list_id=lists[0]["id"],
        changed_car=changed_car, crm_of=crm_of,
    )


def crm_changes(p: Picks) -> dict[str, tuple[list[str], list[dict[str, Any]]]]:
    """What the CRM pushes: stream -> (key properties, records), in the tap's stream names
    (streams deliberately out of Adobe's order: the target must sort that out)."""
    crm = p.crm_of
    return {
        "opportunity_roles": (["externalOpportunityId", LOOKUP, "role"], [
            {"externalOpportunityId": NEW_OPPORTUNITY, LOOKUP: NEW_LEAD,
             "role": "Decision Maker", "isPrimary": True},
            {"externalOpportunityId": NEW_OPPORTUNITY, LOOKUP: p.changed_lead[LOOKUP],
             "role": "Influencer", "isPrimary": False},
            {"externalOpportunityId": p.deleted_role["externalOpportunityId"],
             LOOKUP: crm[p.deleted_role["leadId"]], "role": p.deleted_role["role"],
             "_sdc_deleted_at": DELETED_AT},
        ]),
        "custom_car_c": (["vin"], [
            {"vin": NEW_VIN, LOOKUP: NEW_LEAD, "make": "Volvo", "model": "EX30",
             "year": 2025, "mileage": 120.5},
            {"vin": p.changed_car["vin"], LOOKUP: crm[p.changed_car["leadId"]],
             "mileage": round(float(p.changed_car.get("mileage") or 0) + 1234.5, 1)},
        ]),
        "leads": (
            [LOOKUP],
            [
                {LOOKUP: NEW_LEAD, "email": "rita.roundtrip@crm.example", "firstName": "Rita",
                 "lastName": "Roundtrip", "title": "Head of Data",
                 "externalSalesPersonId": NEW_SALESPERSON, "seatsRequested": 12},
                {LOOKUP: p.changed_lead[LOOKUP], "title": "Chief Round Trip Officer",
                 "externalSalesPersonId": p.changed_salesperson["externalSalesPersonId"],
                 "lastTradeShowAt": "2026-11-02T09:30:00Z", "seatsRequested": 77},
                # Conversion: the prospect joins a new account; its company-type fields
                # belong to the company record.
                {LOOKUP: p.converted_lead[LOOKUP], "title": "VP Operations",
                 "externalCompanyId": CONVERTED_COMPANY, "company": "Roundtrip Conversions",
                 "industry": "Logistics", "numberOfEmployees": 42},
                {LOOKUP: p.deleted_lead[LOOKUP], "_sdc_deleted_at": DELETED_AT},
            ],
        ),
        "program_memberships": (["programId", LOOKUP], [
            {"programId": p.member["programId"], LOOKUP: crm[p.member["leadId"]],
             "statusName": p.new_status},
        ]),
        "companies": (["externalCompanyId"], [
            {"externalCompanyId": NEW_COMPANY, "company": "Roundtrip Analytics",
             "industry": "Software", "billingCity": "Lisbon", "numberOfEmployees": 250,
             "externalSalesPersonId": NEW_SALESPERSON},
            {"externalCompanyId": p.changed_company["externalCompanyId"],
             "industry": "Biotechnology", "billingCity": "Porto"},
        ]),
        "list_memberships": (["listId", LOOKUP], [
            {"listId": p.add_list_id, LOOKUP: p.listed_lead[LOOKUP]},
            {"listId": p.removed_member["listId"], LOOKUP: crm[p.removed_member["leadId"]],
             "_sdc_deleted_at": DELETED_AT},
        ]),
        "opportunities": (["externalOpportunityId"], [
            {"externalOpportunityId": NEW_OPPORTUNITY, "name": "Roundtrip Analytics - Platform",
             "stage": "Prospecting", "amount": 48000.0, "externalCompanyId": NEW_COMPANY,
             "externalSalesPersonId": NEW_SALESPERSON},
        ]),
        "salespersons": (["externalSalesPersonId"], [
            {"externalSalesPersonId": NEW_SALESPERSON, "email": "sam.roundtrip@crm.example",
             "firstName": "Sam", "lastName": "Roundtrip", "title": "AE"},
            {"externalSalesPersonId": p.changed_salesperson["externalSalesPersonId"],
             "title": "Regional Vice President"},
        ]),
    }


# --- comparing ------------------------------------------------------------------------------


def same(got: Any, want: Any) -> bool:
    """Equal as Marketo values: numbers by value, timestamps by instant."""
    if isinstance(want, bool) or isinstance(got, bool):
        return got == want
    if isinstance(want, int | float) and isinstance(got, int | float):
        return math.isclose(float(got), float(want), rel_tol=0, abs_tol=1e-9)
    if isinstance(want, str) and isinstance(got, str) and got != want:
        a, b = _instant(got), _instant(want)
        return a is not None and a == b
    return got == want


def _instant(text: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def field_problems(where: str, got: Mapping[str, Any], want: Mapping[str, Any]) -> list[str]:
    return [
        f"{where}.{name}: got {got.get(name)!r}, want {value!r}"
        for name, value in want.items() if not same(got.get(name), value)
    ]


BusinessKey = Callable[[Mapping[str, Any]], Any]


@dataclass
class StreamExpectation:
    """What one stream of the incremental run must hold.

    ``changed``: business key -> field values the last record of that key must carry (live);
    ``deleted``: business keys whose last record must carry ``_sdc_deleted_at``;
    ``absent``: business keys that must not appear live at all. Any other record must be a
    boundary duplicate: identical to a record the full sync emitted under the same key.
    """

    key: BusinessKey
    changed: dict[Any, dict[str, Any]] = field(default_factory=dict)
    deleted: set[Any] = field(default_factory=set)
    absent: set[Any] = field(default_factory=set)


def stream_problems(
    stream: str,
    incremental: list[dict[str, Any]],
    full: list[dict[str, Any]],
    primary_key: list[str],
    expect: StreamExpectation,
) -> list[str]:
    problems: list[str] = []
    by_key: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for record in incremental:
        by_key[expect.key(record)].append(record)
    for key, want in expect.changed.items():
        got = by_key.get(key)
        if not got:
            problems.append(f"{stream}: change {key!r} not emitted")
            continue
        last = got[-1]
        if last.get("_sdc_deleted_at"):
            problems.append(f"{stream}: change {key!r} emitted as a delete: {last}")
        problems += field_problems(f"{stream}[{key!r}]", last, want)
    for key in expect.deleted:
        got = by_key.get(key)
        if not got:
            problems.append(f"{stream}: delete {key!r} not emitted")
        elif not got[-1].get("_sdc_deleted_at"):
            problems.append(f"{stream}: delete {key!r} emitted without _sdc_deleted_at: "
                            f"{got[-1]}")
    for key in expect.absent:
        live = [r for r in by_key.get(key, []) if not r.get("_sdc_deleted_at")]
        if live:
            problems.append(f"{stream}: {key!r} is gone from Marketo but emitted live: {live}")
    baseline: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for record in full:
        baseline[tuple(record.get(k) for k in primary_key)].append(record)
    expected = set(expect.changed) | expect.deleted
    for record in incremental:
        if expect.key(record) in expected:
            continue  # repeats of a change's key are allowed
        pk = tuple(record.get(k) for k in primary_key)
        if record not in baseline.get(pk, []):
            before = baseline.get(pk)
            problems.append(
                f"{stream}: unexpected record {pk} (not one of the changes, not a boundary "
                f"duplicate): {_diff(before[-1], record) if before else record}"
            )
    return problems


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    names = sorted(set(before) | set(after))
    return {n: (before.get(n), after.get(n)) for n in names if before.get(n) != after.get(n)}
