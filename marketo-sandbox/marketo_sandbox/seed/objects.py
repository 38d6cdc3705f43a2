"""Seeded sales persons, companies (each with at least one contact), opportunities, roles
and custom object records.
"""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

from marketo_sandbox.domain.objects import (
    ADD_TO_OPPORTUNITY,
    bulk_log_activities,
    role_activity_fields,
    set_type_created,
)
from marketo_sandbox.model.leads import (
    company_values,
)
from marketo_sandbox.model.objects import (
    COMPANIES,
    OBJECT_TYPES,
    OPPORTUNITIES,
    OPPORTUNITY_ROLES,
    SALESPERSONS,
    ObjectType,
)
from marketo_sandbox.seed import SeedSpec, seeder, tables
from marketo_sandbox.store import Store, dumps
from marketo_sandbox.timestamps import format_ts, to_epoch

_TABLES = tables("objects")
_WORDS_A = _TABLES["company_words"]
_WORDS_B = _TABLES["company_suffixes"]
_INDUSTRIES = _TABLES["industries"]
_CITIES = _TABLES["cities"]
_FIRST = _TABLES["first_names"]
_LAST = _TABLES["last_names"]
_TITLES = _TABLES["titles"]
_STAGES = _TABLES["opportunity_stages"]
_ROLES = _TABLES["roles"]
_MAKES = _TABLES["car_makes"]
_COLORS = _TABLES["colors"]
_PLANS = _TABLES["subscription_plans"]
_DEALS = _TABLES["deal_types"]

_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _sfdc_id(prefix: str, n: int, rng: random.Random) -> str:
    # CRM-style 18-character ids; the counter keeps them unique.
    return f"{prefix}{n:07d}" + "".join(rng.choices(_ALNUM, k=8))


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _span(rng: random.Random, spec: SeedSpec, now: float) -> tuple[float, float]:
    """(createdAt, updatedAt) epochs spread over the seed's months before ``now``."""
    start = now - spec.months * 30 * 86400
    created = rng.uniform(start, now - 3600)
    updated = created if rng.random() < 0.4 else rng.uniform(created, now - 60)
    return created, updated


def _insert(db: Any, ot: ObjectType, records: list[dict[str, Any]]) -> None:
    db.executemany(
        "INSERT INTO objects(kind, pk, dkey, createdAt, updatedAt, data) VALUES(?,?,?,?,?,?)",
        [
            (ot.kind, str(r[ot.id_field]), ot.dkey(r), r["createdAt"], r["updatedAt"], dumps(r))
            for r in records
        ],
    )


@seeder(10, "marketo_sandbox.api.objects.seed_salespersons_and_companies")
def seed_salespersons_and_companies(
    store: Store, spec: SeedSpec, rng: random.Random, now: float
) -> None:
    people: list[dict[str, Any]] = []
    first_id = store.next_id(SALESPERSONS.kind, max(spec.salespersons, 1))
    for i in range(spec.salespersons):
        created, updated = _span(rng, spec, now)
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        people.append({
            "id": first_id + i,
            "externalSalesPersonId": _sfdc_id("005", i + 1, rng),
            "email": f"{first.lower()}.{last.lower()}{i + 1}@sandbox-sales.example.com",
            "firstName": first,
            "lastName": last,
            "title": rng.choice(_TITLES),
            "phone": f"+1 415 555 {rng.randint(1000, 9999)}",
            "createdAt": format_ts(created),
            "updatedAt": format_ts(updated),
        })
    companies: list[dict[str, Any]] = []
    first_id = store.next_id(COMPANIES.kind, max(spec.companies, 1))
    for i in range(spec.companies):
        created, updated = _span(rng, spec, now)
        name = f"{rng.choice(_WORDS_A)} {rng.choice(_WORDS_B)} {i + 1}"
        city, state, country, postal = rng.choice(_CITIES)
        slug = name.lower().replace(" ", "")
        company: dict[str, Any] = {
            "id": first_id + i,
            "externalCompanyId": _sfdc_id("001", i + 1, rng),
            "company": name,
            "site": f"{city} HQ",
            "billingStreet": f"{rng.randint(1, 999)} Market Street",
            "billingCity": city,
            "billingState": state or None,
            "billingCountry": country,
            "billingPostalCode": postal,
            "website": f"https://www.{slug}.example.com",
            "mainPhone": f"+1 212 555 {rng.randint(1000, 9999)}",
            "annualRevenue": float(rng.randrange(1, 5000) * 100_000),
            "numberOfEmployees": rng.randint(5, 50_000),
            "industry": rng.choice(_INDUSTRIES),
            "sicCode": str(rng.randint(1000, 9999)),
            "createdAt": format_ts(created),
            "updatedAt": format_ts(updated),
        }
        if people and rng.random() < 0.85:
            company["externalSalesPersonId"] = rng.choice(people)["externalSalesPersonId"]
        companies.append({k: v for k, v in company.items() if v is not None})
    with store.transaction() as db:
        _insert(db, SALESPERSONS, people)
        _insert(db, COMPANIES, companies)


def _leads_by_company(store: Store) -> tuple[list[int], dict[str, list[int]]]:
    all_ids: list[int] = []
    by_company: dict[str, list[int]] = {}
    for row in store.iterate(
        "SELECT id, json_extract(data, '$.externalCompanyId') AS ec FROM leads ORDER BY id"
    ):
        all_ids.append(int(row["id"]))
        if row["ec"] is not None:
            by_company.setdefault(str(row["ec"]), []).append(int(row["id"]))
    return all_ids, by_company


# The delete and merge seeder (order 60) picks leads older than this: a company linked
# to a younger lead keeps it.
_SAFE_FROM_SEEDED_DELETES = 15 * 86400


@seeder(25, "marketo_sandbox.api.objects.seed_company_contacts")
def seed_company_contacts(store: Store, spec: SeedSpec, rng: random.Random, now: float) -> None:
    """Link every company no lead points at to one lead.

    Marketo has no "list all companies" read: a company is found through the
    ``externalCompanyId`` of a lead (or an opportunity or custom object) pointing at it,
    so a company nothing points at would be invisible to every reader. Each such company
    takes an unlinked lead (preferring leads young enough that the seeded deletes and
    merges leave them alone), or, when none is left, one lead of the company with the most
    leads. The lead becomes a contact of the company exactly as the lead seeder links one:
    ``externalCompanyId``, the company-type fields mirrored from the company, an
    ``sfdcContactId``, ``personType`` contact.
    """
    companies = sorted(store.objects(COMPANIES.kind), key=lambda c: c["id"])
    lead_ids, by_company = _leads_by_company(store)
    orphans = [
        c for c in companies
        if c.get("externalCompanyId") and str(c["externalCompanyId"]) not in by_company
    ]
    if not orphans or not lead_ids:
        return
    linked = {i for ids in by_company.values() for i in ids}
    cutoff = format_ts(now - _SAFE_FROM_SEEDED_DELETES)
    created = {
        int(r["id"]): r["createdAt"] for r in store.iterate("SELECT id, createdAt FROM leads")
    }
    free = [i for i in lead_ids if i not in linked]
    young = [i for i in free if created[i] >= cutoff]
    old = [i for i in free if created[i] < cutoff]
    rng.shuffle(young)
    rng.shuffle(old)
    pool = young + old

    picks: list[tuple[int, dict[str, Any]]] = []
    for company in orphans:
        if pool:
            lead_id = pool.pop(0)
        else:
            donor = max(sorted(by_company), key=lambda ec: len(by_company[ec]))
            if len(by_company[donor]) < 2:
                break  # fewer leads than companies: nothing left to share
            lead_id = by_company[donor].pop()
        by_company[str(company["externalCompanyId"])] = [lead_id]
        picks.append((lead_id, company))

    with store.transaction() as db:
        for lead_id, company in picks:
            row = db.execute("SELECT data FROM leads WHERE id=?", (lead_id,)).fetchone()
            data = json.loads(row["data"])
            data["externalCompanyId"] = company["externalCompanyId"]
            for name, value in company_values(company).items():
                if value is None:
                    data.pop(name, None)
                else:
                    data[name] = value
            if company.get("sfdcAccountId"):
                data["sfdcAccountId"] = company["sfdcAccountId"]
            data["sfdcContactId"] = "003" + "".join(rng.choices(_ALNUM, k=15))
            data["sfdcType"] = "Contact"
            data["personType"] = "contact"
            db.execute("UPDATE leads SET data=? WHERE id=?", (dumps(data), lead_id))


@seeder(30, "marketo_sandbox.api.objects.seed_opportunities_and_custom_objects")
def seed_opportunities_and_custom_objects(
    store: Store, spec: SeedSpec, rng: random.Random, now: float
) -> None:
    companies = list(store.objects(COMPANIES.kind))
    people = list(store.objects(SALESPERSONS.kind))
    lead_ids, by_company = _leads_by_company(store)
    # Opportunities go where the leads are, so most get roles.
    with_leads = [c for c in companies if c["externalCompanyId"] in by_company] or companies

    opportunities: list[dict[str, Any]] = []
    roles: list[dict[str, Any]] = []
    first_oid = store.next_id("opportunity_activity_id", max(spec.opportunities, 1))
    for i in range(spec.opportunities if companies else 0):
        company = rng.choice(with_leads)
        created, updated = _span(rng, spec, now)
        stage, probability = rng.choice(_STAGES)
        amount = float(rng.randrange(5, 500) * 1000)
        close = format_ts(rng.uniform(created, now + 120 * 86400))[:10]
        opp: dict[str, Any] = {
            "marketoGUID": _guid(rng),
            "externalOpportunityId": _sfdc_id("006", i + 1, rng),
            "name": f"{company['company']} - {rng.choice(_DEALS)}",
            "type": rng.choice(("New Business", "Existing Business", "Renewal")),
            "stage": stage,
            "amount": amount,
            "probability": probability,
            "expectedRevenue": amount * probability / 100.0,
            "closeDate": close,
            "isClosed": stage.startswith("Closed"),
            "isWon": stage == "Closed Won",
            "fiscalYear": int(close[:4]),
            "fiscalQuarter": (int(close[5:7]) - 1) // 3 + 1,
            "leadSource": rng.choice(("Web", "Webinar", "Tradeshow", "Partner", "Outbound")),
            "nextStep": rng.choice(("Demo", "Security review", "Send proposal", "Follow up")),
            "externalCompanyId": company["externalCompanyId"],
            "lastActivityDate": format_ts(updated)[:10],
            "createdAt": format_ts(created),
            "updatedAt": format_ts(updated),
            "_oid": first_oid + i,
        }
        if people:
            opp["externalSalesPersonId"] = company.get(
                "externalSalesPersonId", rng.choice(people)["externalSalesPersonId"]
            )
        opportunities.append(opp)
        candidates = by_company.get(company["externalCompanyId"]) or lead_ids
        if not candidates:
            continue
        picked = rng.sample(candidates, min(len(candidates), rng.randint(1, 3)))
        for n, lead_id in enumerate(picked):
            role_created = rng.uniform(created, max(created, updated))
            roles.append({
                "marketoGUID": _guid(rng),
                "externalOpportunityId": opp["externalOpportunityId"],
                "leadId": lead_id,
                "role": rng.choice(_ROLES),
                "isPrimary": n == 0,
                "createdAt": format_ts(role_created),
                "updatedAt": format_ts(role_created),
            })

    cars: list[dict[str, Any]] = []
    for i in range(spec.custom_objects_per_type if lead_ids else 0):
        created, updated = _span(rng, spec, now)
        make, models = rng.choice(_MAKES)
        cars.append({
            "marketoGUID": _guid(rng),
            "vin": f"1HGCM{i + 1:07d}" + "".join(rng.choices(_VIN_CHARS, k=5)),
            "leadId": rng.choice(lead_ids),
            "make": make,
            "model": rng.choice(models),
            "year": rng.randint(2008, 2026),
            "color": rng.choice(_COLORS),
            "price": float(rng.randrange(80, 900) * 100),
            "mileage": round(rng.uniform(0, 180_000), 1),
            "isLeased": rng.random() < 0.3,
            "purchaseDate": format_ts(created)[:10],
            "lastServiceAt": format_ts(updated),
            "createdAt": format_ts(created),
            "updatedAt": format_ts(updated),
        })
    subscriptions: list[dict[str, Any]] = []
    for i in range(spec.custom_objects_per_type if companies else 0):
        created, updated = _span(rng, spec, now)
        plan, price = rng.choice(_PLANS)
        seats = rng.randint(1, 500)
        subscriptions.append({
            "marketoGUID": _guid(rng),
            "subscriptionId": f"SUB-{i + 1:08d}",
            "externalCompanyId": rng.choice(companies)["externalCompanyId"],
            "plan": plan,
            "seats": seats,
            "mrr": price * max(1, seats // 10),
            "discount": float(rng.choice((0, 0, 5, 10, 15, 20))),
            "autoRenew": rng.random() < 0.7,
            "startDate": format_ts(created)[:10],
            "renewalDate": format_ts(created + 365 * 86400)[:10],
            "status": rng.choice(("active", "active", "active", "trial", "cancelled")),
            "createdAt": format_ts(created),
            "updatedAt": format_ts(updated),
        })

    # The custom object types were defined when the instance's data began (a day before
    # the seed's span): no record is older than its type.
    for ot in (OBJECT_TYPES["car_c"], OBJECT_TYPES["subscription_c"]):
        set_type_created(store, ot, format_ts(now - spec.months * 30 * 86400 - 86400))
    by_ext = {o["externalOpportunityId"]: o for o in opportunities}
    with store.transaction() as db:
        _insert(db, OPPORTUNITIES, opportunities)
        _insert(db, OPPORTUNITY_ROLES, roles)
        _insert(db, OBJECT_TYPES["car_c"], cars)
        _insert(db, OBJECT_TYPES["subscription_c"], subscriptions)
        bulk_log_activities(store, db, [
            {
                "leadId": role["leadId"],
                "activityTypeId": ADD_TO_OPPORTUNITY,
                "when": to_epoch(role["createdAt"]),
                **role_activity_fields(role, by_ext[role["externalOpportunityId"]]),
            }
            for role in roles
        ])
