"""Round trip (issue 4): the target writes CRM changes to the sandbox, then the tap's
incremental sync, from the state of a full sync taken just before, sees exactly those
changes and the deletes.

One flow, run once for the module (about 5 s):
  (1) full sync of the `small` seed (in process, catalog from discovery);
  (2) the target on a Singer file of CRM changes of every kind (streams deliberately out
      of Adobe's order), the sandbox's ground truth read right after;
  (3) incremental sync from (1)'s STATE;
  (4) the same Singer file again (idempotent), then a quiet incremental sync from (3)'s.
The tests only read what the flow recorded, so they do not depend on the sandbox after it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from marketo_sandbox import SandboxServer
from marketo_sandbox.testing import SandboxControl
from roundtrip_support import (
    CONVERTED_COMPANY,
    FAST_SANDBOX,
    LOOKUP,
    NEW_COMPANY,
    NEW_LEAD,
    NEW_OPPORTUNITY,
    NEW_SALESPERSON,
    NEW_VIN,
    Picks,
    StreamExpectation,
    TapRun,
    TargetRun,
    crm_changes,
    discover,
    field_problems,
    pick,
    run_tap,
    run_target,
    same,
    singer_messages,
    stream_problems,
    tap_config,
    target_config,
)

# Ground truth read before and after the target ran.
OBJECT_KINDS = (
    "leads", "companies", "salespersons", "opportunities", "opportunity_roles",
    "program_members", "list_members", "customobjects/car_c", "customobjects/subscription_c",
)
TRUTH_KINDS = (*OBJECT_KINDS, "activities")
CRM_STATE = {"bookmarks": {"crm": {"pushed_through": "2026-11-22"}}}
# Company-type fields of the converted lead: they go to its (new) company record.
CONVERSION_FIELDS = ("externalCompanyId", "company", "industry", "numberOfEmployees")


@dataclass
class RoundTrip:
    picks: Picks
    changes: dict[str, tuple[list[str], list[dict[str, Any]]]]
    full: TapRun  # (1)
    target: TargetRun  # (2)
    rejects: list[dict[str, Any]]
    before: dict[str, list[dict[str, Any]]]  # ground truth before (2)
    truth: dict[str, list[dict[str, Any]]]  # ground truth after (2)
    incremental: TapRun  # (3)
    target_again: TargetRun  # (4)
    rejects_again: list[dict[str, Any]]
    truth_again: dict[str, list[dict[str, Any]]]
    quiet: TapRun  # (4)

    def lead_id(self, crm_id: str) -> int:
        found = [r["id"] for r in self.truth["leads"] if r.get(LOOKUP) == crm_id]
        assert len(found) == 1, (crm_id, found)
        return int(found[0])

    def records_in(self, stream: str) -> list[dict[str, Any]]:
        """The change set's records of one stream."""
        return self.changes[stream][1]

    def change(self, stream: str, **match: Any) -> dict[str, Any]:
        found = [r for r in self.records_in(stream)
                 if all(r.get(k) == v for k, v in match.items())]
        assert len(found) == 1, (stream, match)
        return found[0]

    @property
    def converted(self) -> dict[str, Any]:
        return self.change("leads", **{LOOKUP: self.picks.converted_lead[LOOKUP]})

    @property
    def company_change(self) -> dict[str, Any]:
        ext = self.picks.changed_company["externalCompanyId"]
        return self.change("companies", externalCompanyId=ext)

    @property
    def company_lead_ids(self) -> set[int]:
        """Leads linked to the changed company (Marketo mirrors its fields onto them)."""
        ext = self.picks.changed_company["externalCompanyId"]
        return {int(r["id"]) for r in self.truth["leads"] if r.get("externalCompanyId") == ext}

    def role_key(self, record: dict[str, Any]) -> tuple[str, int, str]:
        return (record["externalOpportunityId"], self.lead_id(record[LOOKUP]), record["role"])


@pytest.fixture(scope="module")
def trip(
    sandbox_server: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RoundTrip]:
    control = SandboxControl(sandbox_server.url)
    control.reset()
    control.configure(**FAST_SANDBOX)
    info = sandbox_server.info()
    config = tap_config(info)
    catalog = discover(config)

    full = run_tap(config, catalog)
    assert not full.incomplete
    before = {kind: control.objects(kind) for kind in TRUTH_KINDS}
    picks = pick(control)
    changes = crm_changes(picks)
    messages = singer_messages(changes, CRM_STATE)
    folder = tmp_path_factory.mktemp("roundtrip")
    target = run_target(target_config(info, str(folder / "rejects.jsonl")), messages)
    truth = {kind: control.objects(kind) for kind in TRUTH_KINDS}
    rejects = _read_rejects(folder / "rejects.jsonl")

    incremental = run_tap(config, catalog, full.state)
    assert not incremental.incomplete

    target_again = run_target(target_config(info, str(folder / "again.jsonl")), messages)
    truth_again = {kind: control.objects(kind) for kind in TRUTH_KINDS}
    rejects_again = _read_rejects(folder / "again.jsonl")
    quiet = run_tap(config, catalog, incremental.state)
    yield RoundTrip(picks, changes, full, target, rejects, before, truth, incremental,
                    target_again, rejects_again, truth_again, quiet)
    control.reset()


def _read_rejects(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line) for line in lines if line]


# --- (2) what the target wrote ----------------------------------------------------------------


def test_target_wrote_every_change_and_says_so(trip: RoundTrip) -> None:
    assert trip.rejects == []
    assert trip.target.states == [CRM_STATE], "the STATE goes out once its records are written"
    # The target's own account of the run: one outcome per record, as Marketo answered.
    assert trip.target.outcomes == {
        "salespersons createOrUpdate: created": 1,
        "salespersons createOrUpdate: updated": 1,
        # The new account and the converted lead's company, then the changed account.
        "companies createOrUpdate: created": 2,
        "companies createOrUpdate: updated": 1,
        "leads createOrUpdate: created": 1,
        "leads createOrUpdate: updated": 2,
        "program_members status: updated": 1,
        "list_members add: added": 1,
        "list_members remove: removed": 1,
        "opportunity_roles delete: deleted": 1,
        "leads delete: deleted": 1,
        "opportunities createOrUpdate: created": 1,
        "opportunity_roles createOrUpdate: created": 2,
        "customobjects/car_c createOrUpdate: created": 1,
        "customobjects/car_c createOrUpdate: updated": 1,
    }


def test_claimed_creates_and_deletes_add_up_in_the_sandbox(trip: RoundTrip) -> None:
    """Per object, records in the sandbox after minus before = what the target says it
    created (or added) minus what it says it deleted (or removed)."""
    net: dict[str, int] = dict.fromkeys(OBJECT_KINDS, 0)
    for label, count in trip.target.outcomes.items():
        kind, outcome = label.split(" ", 1)[0], label.rsplit(": ", 1)[1]
        sign = {"created": 1, "added": 1, "deleted": -1, "removed": -1}.get(outcome, 0)
        net[kind] += sign * count
    growth = {kind: len(trip.truth[kind]) - len(trip.before[kind]) for kind in OBJECT_KINDS}
    assert growth == net


def test_sandbox_holds_what_the_target_claims(trip: RoundTrip) -> None:
    p, truth = trip.picks, trip.truth
    problems: list[str] = []

    leads = {r.get(LOOKUP): r for r in truth["leads"]}
    for record in trip.records_in("leads"):
        crm_id = record[LOOKUP]
        if record.get("_sdc_deleted_at"):
            if crm_id in leads:
                problems.append(f"lead {crm_id} not deleted")
        elif crm_id not in leads:
            problems.append(f"lead {crm_id} missing")
        else:
            # The converted lead included: its company fields now show its company's.
            problems += field_problems(f"lead {crm_id}", leads[crm_id], record)

    companies = {r["externalCompanyId"]: r for r in truth["companies"]}
    for record in [*trip.records_in("companies"),
                   {k: trip.converted[k] for k in CONVERSION_FIELDS}]:
        ext = record["externalCompanyId"]
        problems += field_problems(f"company {ext}", companies.get(ext, {}), record)
    # Marketo shows a linked lead's company fields from its company.
    mirrored = {k: trip.company_change[k] for k in ("industry", "billingCity")}
    assert trip.company_lead_ids
    for lead in truth["leads"]:
        if lead["id"] in trip.company_lead_ids:
            problems += field_problems(f"linked lead {lead['id']}", lead, mirrored)

    for stream, kind, key in (
        ("salespersons", "salespersons", "externalSalesPersonId"),
        ("opportunities", "opportunities", "externalOpportunityId"),
    ):
        found = {r[key]: r for r in truth[kind]}
        for record in trip.records_in(stream):
            problems += field_problems(f"{kind} {record[key]}", found.get(record[key], {}),
                                       record)

    roles = {(r["externalOpportunityId"], r["leadId"], r["role"]): r
             for r in truth["opportunity_roles"]}
    for record in trip.records_in("opportunity_roles"):
        key = trip.role_key(record)
        if record.get("_sdc_deleted_at"):
            if key in roles:
                problems.append(f"role {key} not deleted")
        elif key not in roles:
            problems.append(f"role {key} missing")
        else:
            problems += field_problems(f"role {key}", roles[key],
                                       {"isPrimary": record["isPrimary"]})

    members = {(m["programId"], m["leadId"]): m for m in truth["program_members"]}
    problems += field_problems("program member",
                               members.get((p.member["programId"], p.member["leadId"]), {}),
                               {"statusName": p.new_status})
    lists = {(m["listId"], m["leadId"]) for m in truth["list_members"]}
    if (p.add_list_id, p.listed_lead["id"]) not in lists:
        problems.append("list add missing")
    if (p.removed_member["listId"], p.removed_member["leadId"]) in lists:
        problems.append("list removal not applied")

    cars = {c["vin"]: c for c in truth["customobjects/car_c"]}
    for record in trip.records_in("custom_car_c"):
        want = {k: v for k, v in record.items() if k != LOOKUP}
        want["leadId"] = trip.lead_id(record[LOOKUP])
        problems += field_problems(f"car {record['vin']}", cars.get(record["vin"], {}), want)

    # Nothing else changed: every other seeded lead is exactly as it was.
    touched = {trip.lead_id(NEW_LEAD), *p.lead_ids} | trip.company_lead_ids
    before = {r["id"]: r for r in trip.before["leads"]}
    for lead in truth["leads"]:
        if lead["id"] not in touched and before.get(lead["id"]) != lead:
            problems.append(f"lead {lead['id']} changed although no change named it")
    assert problems == []


def test_new_activities_are_the_writes_own(trip: RoundTrip) -> None:
    """The activities the sandbox logged while the target wrote are on leads the changes
    named, or on the leads of the changed company (Change Data Value of the mirrored
    fields); the incremental run must emit each: checked with the other changes."""
    before = {a["marketoGUID"] for a in trip.before["activities"]}
    new = [a for a in trip.truth["activities"] if a["marketoGUID"] not in before]
    assert new, "the writes logged no activity"
    p = trip.picks
    named = {
        trip.lead_id(NEW_LEAD), *p.lead_ids, p.member["leadId"], p.removed_member["leadId"],
        p.deleted_role["leadId"], p.changed_car["leadId"], *trip.company_lead_ids,
    }
    assert {a["leadId"] for a in new} <= named


# --- (3) what the tap reads back --------------------------------------------------------------


def _expectations(trip: RoundTrip) -> dict[str, StreamExpectation]:
    """Per stream of the incremental run: the changes the target made, by business key,
    with the values it wrote; Marketo's own consequences included (a company's fields on
    its linked leads, the activities the writes logged). Any other record must be a
    boundary duplicate of the full sync's."""
    p = trip.picks

    def live(stream: str, key: str) -> dict[Any, dict[str, Any]]:
        return {r[key]: r for r in trip.records_in(stream) if not r.get("_sdc_deleted_at")}

    leads = {trip.lead_id(crm_id): r for crm_id, r in live("leads", LOOKUP).items()}
    for lead_id in trip.company_lead_ids:
        leads[lead_id] = {k: trip.company_change[k] for k in ("industry", "billingCity")}
    companies = live("companies", "externalCompanyId")
    companies[CONVERTED_COMPANY] = {k: trip.converted[k] for k in CONVERSION_FIELDS}
    roles = {trip.role_key(r): {"isPrimary": r["isPrimary"]}
             for r in trip.records_in("opportunity_roles") if not r.get("_sdc_deleted_at")}
    gone_roles = {trip.role_key(r) for r in trip.records_in("opportunity_roles")
                  if r.get("_sdc_deleted_at")}
    cars = {
        r["vin"]: {**{k: v for k, v in r.items() if k != LOOKUP},
                   "leadId": trip.lead_id(r[LOOKUP])}
        for r in trip.records_in("custom_car_c")
    }
    deleted_lead = int(p.deleted_lead["id"])
    expectations = {
        "leads": StreamExpectation(lambda r: r.get("id"), leads, deleted={deleted_lead}),
        "deleted_leads": StreamExpectation(
            lambda r: ("lead", r.get("leadId")), {("lead", deleted_lead): {"activityTypeId": 37}}
        ),
        "companies": StreamExpectation(lambda r: r.get("externalCompanyId"), companies),
        "salespersons": StreamExpectation(
            lambda r: r.get("externalSalesPersonId"),
            live("salespersons", "externalSalesPersonId"),
        ),
        "opportunities": StreamExpectation(
            lambda r: r.get("externalOpportunityId"),
            live("opportunities", "externalOpportunityId"),
        ),
        "opportunity_roles": StreamExpectation(
            lambda r: (r.get("externalOpportunityId"), r.get("leadId"), r.get("role")),
            roles, deleted=gone_roles, absent=gone_roles,
        ),
        "program_memberships": StreamExpectation(
            lambda r: (r.get("programId"), r.get("leadId")),
            {(p.member["programId"], p.member["leadId"]): {"statusName": p.new_status}},
        ),
        "list_memberships": StreamExpectation(
            lambda r: (r.get("listId"), r.get("leadId")),
            {(p.add_list_id, p.listed_lead["id"]): {}},
            deleted={(p.removed_member["listId"], p.removed_member["leadId"])},
        ),
        "custom_car_c": StreamExpectation(lambda r: r.get("vin"), cars),
    }

    before = {a["marketoGUID"] for a in trip.before["activities"]}
    new_activities = [a for a in trip.truth["activities"]
                      if a["marketoGUID"] not in before and a["activityTypeId"] != 37]
    for stream in set(trip.full.keys) | set(trip.incremental.keys):
        if stream.startswith("activities_"):
            type_id = trip.incremental.activity_type(stream) or trip.full.activity_type(stream)
            expectations[stream] = StreamExpectation(lambda r: r.get("marketoGUID"), {
                a["marketoGUID"]: {"leadId": a["leadId"], "activityDate": a["activityDate"]}
                for a in new_activities if a["activityTypeId"] == type_id
            })
        else:
            # Untouched streams (programs, lists, campaigns, subscriptions, activity
            # types): boundary duplicates only.
            expectations.setdefault(stream, StreamExpectation(lambda r: object()))
    covered = sum(len(e.changed) for s, e in expectations.items() if s.startswith("activities_"))
    assert covered == len(new_activities), "a new activity has no activity stream"
    return expectations


def test_incremental_sync_sees_exactly_the_changes(trip: RoundTrip) -> None:
    problems: list[str] = []
    for stream, expect in sorted(_expectations(trip).items()):
        problems += stream_problems(
            stream,
            trip.incremental.records.get(stream, []),
            trip.full.records.get(stream, []),
            trip.incremental.keys.get(stream) or trip.full.keys.get(stream) or [],
            expect,
        )
    assert problems == []


def test_deletes_reach_the_tap(trip: RoundTrip) -> None:
    p, run = trip.picks, trip.incremental
    deleted = int(p.deleted_lead["id"])
    flagged = [r for r in run.records["leads"] if r["id"] == deleted]
    assert flagged, "the deleted lead is not on `leads`"
    assert flagged[-1]["_sdc_deleted_at"]
    assert [r["leadId"] for r in run.records["deleted_leads"]
            if r not in trip.full.records["deleted_leads"]] == [deleted]
    removed = (p.removed_member["listId"], p.removed_member["leadId"])
    rows = [r for r in run.records["list_memberships"] if (r["listId"], r["leadId"]) == removed]
    assert rows, "the list removal is not on `list_memberships`"
    assert rows[-1]["_sdc_deleted_at"]


def test_deleted_role_reaches_the_tap(trip: RoundTrip) -> None:
    role = trip.picks.deleted_role
    key = (role["externalOpportunityId"], role["leadId"], role["role"])
    rows = [r for r in trip.incremental.records.get("opportunity_roles", [])
            if (r.get("externalOpportunityId"), r.get("leadId"), r.get("role")) == key]
    assert rows, f"the deleted role {key} is not on `opportunity_roles`"
    assert rows[-1].get("_sdc_deleted_at")


def test_new_records_link_up(trip: RoundTrip) -> None:
    """The records the target created are linked as the CRM said, as the tap reads them."""
    run = trip.incremental
    new_lead = trip.lead_id(NEW_LEAD)
    leads = {r["id"]: r for r in run.records["leads"]}
    assert leads[new_lead]["externalSalesPersonId"] == NEW_SALESPERSON
    assert leads[int(trip.picks.converted_lead["id"])]["externalCompanyId"] == CONVERTED_COMPANY
    opportunity = next(r for r in run.records["opportunities"]
                       if r["externalOpportunityId"] == NEW_OPPORTUNITY)
    assert (opportunity["externalCompanyId"], opportunity["externalSalesPersonId"]) == (
        NEW_COMPANY, NEW_SALESPERSON)
    company = next(r for r in run.records["companies"] if r["externalCompanyId"] == NEW_COMPANY)
    assert company["externalSalesPersonId"] == NEW_SALESPERSON
    car = next(r for r in run.records["custom_car_c"] if r["vin"] == NEW_VIN)
    assert same(car["leadId"], new_lead)


# --- (4) the same input again ----------------------------------------------------------------


def test_rerun_changes_nothing_the_tap_can_see(trip: RoundTrip) -> None:
    """Re-sending the same CRM file leaves Marketo as it was (no creates, the deletes
    already gone) and the next incremental sync emits nothing beyond boundary duplicates
    of what (3) already emitted."""
    assert trip.rejects_again == []
    outcomes = trip.target_again.outcomes
    assert not [k for k in outcomes if k.endswith((": created", ": deleted", ": removed"))]
    for kind in TRUTH_KINDS:
        again = sorted(json.dumps(r, sort_keys=True) for r in trip.truth_again[kind])
        assert again == sorted(json.dumps(r, sort_keys=True) for r in trip.truth[kind]), kind
    problems: list[str] = []
    for stream, records in trip.quiet.records.items():
        keys = trip.quiet.keys.get(stream) or []
        seen = [*trip.full.records.get(stream, []), *trip.incremental.records.get(stream, [])]
        problems += stream_problems(stream, records, seen, keys,
                                    StreamExpectation(lambda r: object()))
    assert problems == []
