"""Helpers of the target tests: run the target in-process, reshape Singer files, read state."""

from __future__ import annotations

import contextlib
import io
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marketo_sandbox.testing import SandboxControl
from target_marketo_crm import TargetMarketoCRM

DATA = Path(__file__).parent / "data"

# The CRM's Account stream as the day-2 file sends it (a CRM's own names).
ACCOUNT_BINDING = {
    "object": "companies",
    "fields": {"Id": "externalCompanyId", "Name": "company", "Industry": "industry"},
    "delete_flag_field": "IsDeleted",
}


@dataclass
class Run:
    target: TargetMarketoCRM
    states: list[dict[str, Any]] = field(default_factory=list)
    stdout: str = ""

    @property
    def calls(self) -> dict[str, int]:
        return dict(self.target.writer.tally.calls) if "writer" in self.target.__dict__ else {}


def singer_lines(source: str | Path | Iterable[dict[str, Any]]) -> str:
    if isinstance(source, Path):
        return source.read_text(encoding="utf-8")
    if isinstance(source, str):
        return source
    return "".join(json.dumps(message) + "\n" for message in source)


def run_target(config: dict[str, Any], source: str | Path | Iterable[dict[str, Any]]) -> Run:
    """Run the target on Singer messages like `target-marketo-crm --config c < file`."""
    target = TargetMarketoCRM(config=config, parse_env_config=False)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        target.listen(io.StringIO(singer_lines(source)))
    text = out.getvalue()
    states = [json.loads(line) for line in text.splitlines() if line.strip()]
    return Run(target, states, text)


def read_messages(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def shuffled_by_stream(messages: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """The same messages with whole streams (SCHEMA + its RECORDs) in another order."""
    blocks: dict[str, list[dict[str, Any]]] = {}
    tail: list[dict[str, Any]] = []
    for message in messages:
        if message["type"] == "STATE":
            tail.append(message)
        else:
            blocks.setdefault(message["stream"], []).append(message)
    order = list(blocks)
    rng = random.Random(seed)
    while order == list(blocks) and len(order) > 1:
        rng.shuffle(order)
    return [m for stream in order for m in blocks[stream]] + tail


def interleaved(messages: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """Records of all streams interleaved at random (each stream's own order and its
    SCHEMA-first rule kept), as a tap syncing streams in parallel would emit them."""
    queues: dict[str, list[dict[str, Any]]] = {}
    tail = []
    for message in messages:
        if message["type"] == "STATE":
            tail.append(message)
        else:
            queues.setdefault(message["stream"], []).append(message)
    rng = random.Random(seed)
    out = []
    while queues:
        stream = rng.choice(sorted(queues))
        out.append(queues[stream].pop(0))
        if not queues[stream]:
            del queues[stream]
    return out + tail


def read_rejects(path: str | Path, severity: str = "reject") -> list[dict[str, Any]]:
    """Entries of the reject file: rejects by default, or ``severity="warning"``."""
    path = Path(path)
    if not path.exists():
        return []
    entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [e for e in entries if e["severity"] == severity]


# --- what the CRM files own in the sandbox ----------------------------------------------

# Lead fields the CRM files write (plus the links): compared exactly.
LEAD_FIELDS = (
    "email", "firstName", "lastName", "title", "externalCompanyId", "externalSalesPersonId",
    "company", "industry", "numberOfEmployees", "billingCity", "lastTradeShowAt",
)
# Marketo-assigned or clock-dependent: never part of an expected state.
_VOLATILE = ("id", "marketoGUID", "createdAt", "updatedAt", "seq")


def _clean(record: dict[str, Any], drop: tuple[str, ...] = _VOLATILE) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in drop and v is not None}


def _ours_lead(lead: dict[str, Any]) -> bool:
    return str(lead.get("crmContactId") or "").startswith("CT-")


def crm_state(sandbox: SandboxControl) -> dict[str, Any]:
    """Every object the CRM files own, keyed by the CRM's keys (never Marketo ids)."""
    leads = [lead for lead in sandbox.objects("leads") if _ours_lead(lead)]
    crm_of = {lead["id"]: lead["crmContactId"] for lead in leads}

    def owned(kind: str, field_name: str, prefix: str) -> list[dict[str, Any]]:
        return [o for o in sandbox.objects(kind) if str(o.get(field_name) or "").startswith(prefix)]

    return {
        "salespersons": {
            o["externalSalesPersonId"]: _clean(o) for o in owned("salespersons",
                                                                 "externalSalesPersonId", "SP-")
        },
        "companies": {
            o["externalCompanyId"]: _clean(o)
            for o in owned("companies", "externalCompanyId", "ACC-")
        },
        "leads": {
            lead["crmContactId"]: {k: lead[k] for k in LEAD_FIELDS if lead.get(k) is not None}
            for lead in leads
        },
        "opportunities": {
            o["externalOpportunityId"]: _clean(o)
            for o in owned("opportunities", "externalOpportunityId", "OPP-")
        },
        "opportunity_roles": {
            f"{o['externalOpportunityId']}|{crm_of.get(o['leadId'], o['leadId'])}|{o['role']}":
                _clean(o, (*_VOLATILE, "externalOpportunityId", "leadId", "role"))
            for o in owned("opportunity_roles", "externalOpportunityId", "OPP-")
        },
        "car_c": {
            o["vin"]: {**_clean(o, (*_VOLATILE, "leadId")),
                       "lead": crm_of.get(o.get("leadId"), o.get("leadId"))}
            for o in owned("customobjects/car_c", "vin", "VIN-TEST")
        },
        "subscription_c": {
            o["subscriptionId"]: _clean(o)
            for o in owned("customobjects/subscription_c", "externalCompanyId", "ACC-")
        },
        "program_members": {
            f"{m['programId']}|{crm_of[m['leadId']]}": {
                k: m[k] for k in ("statusName", "registrationCode") if m.get(k) is not None
            }
            for m in sandbox.objects("program_members") if m["leadId"] in crm_of
        },
        "list_members": sorted(
            f"{m['listId']}|{crm_of[m['leadId']]}"
            for m in sandbox.objects("list_members") if m["leadId"] in crm_of
        ),
        "campaign_requests": sorted(
            json.dumps({"campaignId": r["campaignId"],
                        "leads": sorted(crm_of.get(i, i) for i in r["leadIds"]),
                        "tokens": r.get("tokens")}, sort_keys=True)
            for r in sandbox.objects("campaign_requests")
        ),
    }


def seeded_state(sandbox: SandboxControl) -> dict[str, Any]:
    """Everything the CRM files do NOT own: a run must leave it exactly as it was."""
    leads = sandbox.objects("leads")
    ours = {lead["id"] for lead in leads if _ours_lead(lead)}

    def theirs(kind: str, *fields: str) -> list[dict[str, Any]]:
        out = []
        for o in sandbox.objects(kind):
            values = [str(o.get(f) or "") for f in fields]
            if any(v.startswith(("SP-", "ACC-", "OPP-", "VIN-TEST")) for v in values):
                continue
            if o.get("leadId") in ours:
                continue
            out.append(o)
        return out

    return {
        "leads": [lead for lead in leads if lead["id"] not in ours],
        "salespersons": theirs("salespersons", "externalSalesPersonId"),
        "companies": theirs("companies", "externalCompanyId"),
        "opportunities": theirs("opportunities", "externalOpportunityId"),
        "opportunity_roles": theirs("opportunity_roles", "externalOpportunityId"),
        "car_c": theirs("customobjects/car_c", "vin"),
        "subscription_c": theirs("customobjects/subscription_c", "externalCompanyId"),
        "program_members": theirs("program_members"),
        "list_members": theirs("list_members"),
    }


# --- the state the CRM files must leave ---------------------------------------------

WELCOME = json.dumps(
    {"campaignId": 1001, "leads": ["CT-1"],
     "tokens": [{"name": "{{my.greeting}}", "value": "Welcome"}]},
    sort_keys=True,
)

# After day 1 and day 2 (see data/build_crm_files.py for the story).
EXPECTED: dict[str, Any] = {
    "salespersons": {
        "SP-A": {"externalSalesPersonId": "SP-A", "email": "alice.owner@crm.example",
                 "firstName": "Alice", "lastName": "Owner", "title": "Senior AE"},
        "SP-B": {"externalSalesPersonId": "SP-B", "email": "bob.owner@crm.example",
                 "firstName": "Bob", "lastName": "Owner", "title": "AE"},
        # SP-C deleted after its account and contact went.
    },
    "companies": {
        # Updated through the CRM's own "Account" stream (renamed fields).
        "ACC-ACME": {"externalCompanyId": "ACC-ACME", "company": "Acme Corporation",
                     "industry": "Aerospace", "billingCity": "Denver",
                     "numberOfEmployees": 500, "externalSalesPersonId": "SP-A"},
        "ACC-GLOBEX": {"externalCompanyId": "ACC-GLOBEX", "company": "Globex",
                       "industry": "Energy", "billingCity": "Springfield",
                       "numberOfEmployees": 1200, "externalSalesPersonId": "SP-B"},
        # Created by converting CT-4: its company-type fields went to the company.
        "ACC-DANA": {"externalCompanyId": "ACC-DANA", "company": "Dana Industries",
                     "industry": "Logistics", "numberOfEmployees": 42},
        # ACC-INITECH deleted with IsDeleted=true, after its contact and subscription.
    },
    "leads": {
        "CT-1": {"email": "alice@acme.example", "firstName": "Alice", "lastName": "Anders",
                 "title": "CEO", "externalCompanyId": "ACC-ACME",
                 "externalSalesPersonId": "SP-A", "company": "Acme Corporation",
                 "industry": "Aerospace", "numberOfEmployees": 500, "billingCity": "Denver",
                 "lastTradeShowAt": "2026-10-01T12:00:00Z"},
        "CT-2": {"email": "bert@globex.example", "firstName": "Bert", "lastName": "Brown",
                 "title": "CFO", "externalCompanyId": "ACC-GLOBEX",
                 "externalSalesPersonId": "SP-B", "company": "Globex", "industry": "Energy",
                 "numberOfEmployees": 1200, "billingCity": "Springfield"},
        "CT-4": {"email": "dana@prospect.example", "firstName": "Dana", "lastName": "Diaz",
                 "title": "VP Ops", "externalCompanyId": "ACC-DANA",
                 "externalSalesPersonId": "SP-B", "company": "Dana Industries",
                 "industry": "Logistics", "numberOfEmployees": 42},
        # CT-3 and CT-5 deleted.
    },
    "opportunities": {
        "OPP-1": {"externalOpportunityId": "OPP-1", "name": "Acme expansion",
                  "stage": "Closed Won", "amount": 65000.0, "externalCompanyId": "ACC-ACME",
                  "externalSalesPersonId": "SP-A"},
        # OPP-2 deleted; its remaining role went first.
    },
    "opportunity_roles": {
        "OPP-1|CT-1|Decision Maker": {"isPrimary": True},
        "OPP-1|CT-2|Evaluator": {"isPrimary": False},
    },
    "car_c": {
        "VIN-TEST-0001": {"vin": "VIN-TEST-0001", "make": "Volvo", "model": "XC60",
                          "year": 2024, "mileage": 4800.0, "lead": "CT-1"},
    },
    "subscription_c": {
        "SUB-ACME": {"subscriptionId": "SUB-ACME", "externalCompanyId": "ACC-ACME",
                     "plan": "Enterprise", "seats": 75},
    },
    "program_members": {
        "1001|CT-1": {"statusName": "Downloaded"},
        "1002|CT-4": {"statusName": "Member", "registrationCode": "R-200"},
    },
    "list_members": ["1001|CT-1", "1001|CT-4"],
    "campaign_requests": [WELCOME],
}
