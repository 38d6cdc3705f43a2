"""Seeded leads (spread over the seed's months, ~60% linked to a company) and the recent
deletes and merges Marketo's deleted-lead and activity feeds report.
"""

from __future__ import annotations

import functools
import unicodedata
from datetime import UTC, datetime
from random import Random
from typing import Any

from marketo_sandbox.config import SandboxConfig
from marketo_sandbox.domain.leads import (
    define_partitions,
    delete_many,
    merge_many,
    new_lead_defaults,
)
from marketo_sandbox.model.leads import (
    DEFAULT_PARTITION_ID,
    company_values,
)
from marketo_sandbox.model.shared import (
    KIND_COMPANIES,
    KIND_SALESPERSONS,
)
from marketo_sandbox.seed import SeedSpec, seeder, tables
from marketo_sandbox.store import INSERT_LEAD, Store, create_lead_indexes, lead_row
from marketo_sandbox.timestamps import format_ts

_TABLES = tables("leads")
_FIRST = _TABLES["first_names"]
_LAST = _TABLES["last_names"]
_TITLES = _TABLES["titles"]
_CITIES = _TABLES["cities"]
_SOURCES = _TABLES["sources"]
_STATUSES = _TABLES["statuses"]
_RATINGS = _TABLES["ratings"]
_LANGUAGES = _TABLES["languages"]
_ROLES = _TABLES["roles"]
_INTERESTS = _TABLES["interests"]
_FREE_MAIL = _TABLES["free_mail_domains"]
_COMPANY_POOL = _TABLES["unlinked_companies"]
_INDUSTRIES = _TABLES["industries"]
_TIMEZONES = _TABLES["timezones"]


@functools.lru_cache(maxsize=4096)
def ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = "".join(ch for ch in folded.lower() if ch.isalnum())
    return slug or "user"


def _sfdc_id(rng: Random, prefix: str) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return prefix + "".join(rng.choices(alphabet, k=15))


def _seed_lead(
    rng: Random,
    lead_id: int,
    created: float,
    now: float,
    *,
    company: dict[str, Any] | None,
    salesperson: dict[str, Any] | None,
    munchkin: str,
) -> dict[str, Any]:
    first = rng.choice(_FIRST)
    last = rng.choice(_LAST)
    city, state, country, postal = rng.choice(_CITIES)
    data: dict[str, Any] = {"id": lead_id, "firstName": first, "lastName": last}
    if company is not None:
        domain = (
            str(company.get("website") or "").split("//")[-1].strip("/")
            or f"{ascii_slug(str(company.get('company')))}.com"
        )
    else:
        domain = rng.choice(_FREE_MAIL)
    if rng.random() < 0.98:
        local = f"{ascii_slug(first)}.{ascii_slug(last)}{lead_id}"
        email = f"{local}@{domain}"
        if rng.random() < 0.05:
            # Real databases hold mixed-case addresses; lookups must ignore case.
            email = f"{local.capitalize()}@{domain.upper()}"
        data["email"] = email
    if rng.random() < 0.3:
        data["salutation"] = rng.choice(("Mr.", "Ms.", "Dr.", "Mx."))
    data["title"] = rng.choice(_TITLES)
    data["phone"] = f"+1 555 {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}"
    if rng.random() < 0.5:
        data["mobilePhone"] = f"+1 555 {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}"
    street = rng.choice(("Main St", "Market St", "Hauptstraße", "Rue de Rivoli"))
    data["address"] = f"{rng.randrange(1, 9999)} {street}"
    data["city"] = city
    if state:
        data["state"] = state
    data["country"] = country
    data["postalCode"] = postal
    data["leadSource"] = rng.choice(_SOURCES)
    data["leadStatus"] = rng.choice(_STATUSES)
    data["rating"] = rng.choice(_RATINGS)
    data["leadScore"] = rng.randrange(0, 120)
    data["urgency"] = round(rng.random() * 100, 2)
    data["priority"] = rng.randrange(0, 100)
    data["relativeScore"] = rng.randrange(1, 4)
    data["relativeUrgency"] = rng.randrange(1, 4)
    data["personTimeZone"] = rng.choice(_TIMEZONES)
    data["originalSourceType"] = rng.choice(
        ("Web form fillout", "Web service API", "List import", "New lead")
    )
    data["registrationSourceType"] = data["originalSourceType"]
    if rng.random() < 0.4:
        data["originalReferrer"] = rng.choice(
            (
                "https://www.google.com/",
                "https://www.linkedin.com/",
                "https://news.ycombinator.com/",
            )
        )
    data["unsubscribed"] = rng.random() < 0.03
    if data["unsubscribed"]:
        data["unsubscribedReason"] = "Unsubscribed via email link"
    data["emailInvalid"] = "email" in data and rng.random() < 0.02
    if data["emailInvalid"]:
        data["emailInvalidCause"] = "550 5.1.1 mailbox unavailable"
    data["doNotCall"] = rng.random() < 0.05
    if rng.random() < 0.6:
        token = f"_mch-sandbox.local-{int(created * 1000)}-{rng.randrange(10000, 99999)}"
        data["cookies"] = f"id:{munchkin}&token:{token}"
    if rng.random() < 0.85:
        data["crmContactId"] = f"CRM-{lead_id:07d}"
    if rng.random() < 0.4:
        data["sfdcLeadId"] = _sfdc_id(rng, "00Q")
    if rng.random() < 0.05:
        data["linkedInId"] = f"li-{rng.randrange(10**8, 10**9)}"
    if rng.random() < 0.03:
        data["twitterId"] = f"@{ascii_slug(first)}{rng.randrange(100)}"
    if rng.random() < 0.3:
        data["anonymousIP"] = f"203.0.113.{rng.randrange(1, 255)}"
        data["inferredCity"] = city
        data["inferredCountry"] = country
    # ~5% EMEA and ~5% APAC (one draw, so the rest of the seed is unchanged): an API role
    # limited to some partitions (profile `partitions`) then has leads it cannot see.
    partition_draw = rng.random()
    data["leadPartitionId"] = (
        2 if partition_draw < 0.05 else 3 if partition_draw < 0.10 else DEFAULT_PARTITION_ID
    )
    if company is not None:
        data["externalCompanyId"] = company["externalCompanyId"]
        for name, value in company_values(company).items():
            if value is not None:
                data[name] = value
        if company.get("sfdcAccountId"):
            data["sfdcAccountId"] = company["sfdcAccountId"]
        data["sfdcContactId"] = _sfdc_id(rng, "003")
        data["personType"] = "contact"
    else:
        data["personType"] = "lead"
        if rng.random() < 0.7:
            data["company"] = rng.choice(_COMPANY_POOL)
            data["industry"] = rng.choice(_INDUSTRIES)
            data["numberOfEmployees"] = rng.choice((10, 50, 200, 1000, 5000))
    # What the CRM sync stamps on the person it syncs: a CRM contact or a CRM lead.
    if data.get("sfdcContactId"):
        data["sfdcType"] = "Contact"
    elif data.get("sfdcLeadId"):
        data["sfdcType"] = "Lead"
    if salesperson is not None:
        data["externalSalesPersonId"] = salesperson["externalSalesPersonId"]
    # Custom fields, one of every dataType, each filled on most leads.
    if rng.random() < 0.7:
        data["preferredLanguage"] = rng.choice(_LANGUAGES)
    if rng.random() < 0.3:
        data["lastTradeShowAt"] = format_ts(created + rng.random() * (now - created))
    if rng.random() < 0.2:
        data["contractStartDate"] = (
            datetime.fromtimestamp(created + rng.random() * (now - created), UTC).date().isoformat()
        )
    if rng.random() < 0.6:
        data["seatsRequested"] = rng.randrange(1, 500)
    if rng.random() < 0.4:
        data["discountPercent"] = rng.choice((0, 5, 10, 12.5, 15, 20))
    data["behaviorScore"] = rng.randrange(0, 100)
    if rng.random() < 0.7:
        data["engagementIndex"] = round(rng.random() * 10, 3)
    if rng.random() < 0.4:
        data["lifetimeValue"] = round(rng.random() * 250_000, 2)
    data["isCustomer"] = rng.random() < 0.15
    if rng.random() < 0.3:
        data["secondaryEmail"] = f"{ascii_slug(first)}.{ascii_slug(last)}@{rng.choice(_FREE_MAIL)}"
    if lead_id > 1 and rng.random() < 0.1:
        data["referredByLeadId"] = rng.randrange(1, lead_id)
    if rng.random() < 0.2:
        data["linkedInProfileUrl"] = (
            f"https://www.linkedin.com/in/{ascii_slug(first)}-{ascii_slug(last)}-{lead_id}"
        )
    if rng.random() < 0.1:
        data["assistantPhone"] = f"+1 555 {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}"
    if rng.random() < 0.3:
        data["productInterestNotes"] = (
            'Asked about pricing.\nWants a demo with the "ops" team; budget Q3.'
        )
    if lead_id % 37 == 5:
        # Text pasted from rich editors carries U+2028/U+2029; real files hold them raw
        # (docs/MARKETO.md section 9). Chosen by id, so no other seeded value moves.
        data["productInterestNotes"] = (
            'Pasted from the event app:\u2028booth 12, the "lunch" slot\u2029follow up in May'
        )
    if rng.random() < 0.2:
        data["qualificationSummary"] = (
            f"BANT: budget {rng.choice(('yes', 'no'))}, authority {rng.choice(('yes', 'no'))}"
        )
    if rng.random() < 0.5:
        data["buyingRole"] = rng.choice(_ROLES)
    if rng.random() < 0.5:
        data["productInterests"] = rng.sample(_INTERESTS, rng.randrange(1, 4))
    data["mktoAcquisitionDate"] = format_ts(created)
    return data


@seeder(20, "marketo_sandbox.api.leads.seed_leads")
def seed_leads(store: Store, spec: SeedSpec, rng: Random, now: float) -> None:
    """spec.leads leads created over spec.months months; ~60% linked to a seeded company."""
    companies = [c for c in store.objects(KIND_COMPANIES) if c.get("externalCompanyId")]
    salespersons = [s for s in store.objects(KIND_SALESPERSONS) if s.get("externalSalesPersonId")]
    count = spec.leads
    if count:
        # Leads are spread over three partitions (see _seed_lead).
        define_partitions(store)
    start = now - spec.months * 30.44 * 86400
    # Lead ids grow with creation time in Marketo; newer months see more leads.
    created = sorted(start + (now - 300 - start) * (rng.random() ** 0.8) for _ in range(count))
    rows: list[tuple[Any, ...]] = []
    emails: list[str] = []
    insert = INSERT_LEAD
    with store.transaction() as db:
        for index, created_at in enumerate(created):
            rows.append(
                _seed_row(
                    rng,
                    index + 1,
                    created_at,
                    now,
                    companies=companies,
                    salespersons=salespersons,
                    emails=emails,
                )
            )
            if len(rows) >= 10_000:
                db.executemany(insert, rows)
                rows.clear()
        db.executemany(insert, rows)
        create_lead_indexes(db)
    store.set_sequence_floor("lead", count)


def _seed_row(
    rng: Random,
    lead_id: int,
    created_at: float,
    now: float,
    *,
    companies: list[dict[str, Any]],
    salespersons: list[dict[str, Any]],
    emails: list[str],
) -> tuple[Any, ...]:
    """One seeded lead's table row (``emails`` collects addresses for later duplicates)."""
    munchkin = "123-ABC-456"
    company = rng.choice(companies) if companies and rng.random() < 0.6 else None
    salesperson = (
        rng.choice(salespersons) if salespersons and (company or rng.random() < 0.3) else None
    )
    data = _seed_lead(
        rng, lead_id, created_at, now, company=company, salesperson=salesperson, munchkin=munchkin
    )
    if emails and rng.random() < 0.005:
        # Real databases hold a few duplicates (same address, other case): 1007 territory.
        data["email"] = rng.choice(emails).upper()
    if data.get("email"):
        emails.append(data["email"])
    # A lead's updatedAt moves only with a change Marketo logs on it (Change Data Value,
    # Change Score, Merge Leads): the activity seeder sets it from the changes it seeds.
    # These two draws once dated an unlogged change; they are still drawn so that every
    # value generated after them stays as the tests and benchmark figures know it.
    if rng.random() < 0.7:
        rng.random()
    data["createdAt"] = format_ts(created_at)
    data["updatedAt"] = format_ts(created_at)
    new_lead_defaults(data)
    return lead_row(data)


@seeder(60, "marketo_sandbox.api.leads.seed_deletes_and_merges")
def seed_deletes_and_merges(store: Store, spec: SeedSpec, rng: Random, now: float) -> None:
    """Deletes and merges in the last ~10 days (Marketo keeps deleted leads ~14 days)."""
    cutoff = format_ts(now - 15 * 86400)
    candidates = [
        r["id"]
        for r in store.query("SELECT id FROM leads WHERE createdAt < ? ORDER BY id", (cutoff,))
    ]
    rng.shuffle(candidates)
    config = SandboxConfig()
    wanted_deletes = min(spec.deleted_leads, len(candidates))
    to_delete = candidates[:wanted_deletes]
    rest = candidates[wanted_deletes:]
    delete_many(
        store, config, [(lead_id, now - rng.uniform(0.2, 10) * 86400) for lead_id in to_delete]
    )
    merges: list[tuple[int, list[int], float | None]] = []
    while len(merges) < spec.merged_leads and len(rest) >= 2:
        winner, loser = rest.pop(), rest.pop()
        merges.append((winner, [loser], now - rng.uniform(0.2, 10) * 86400))
    merge_many(store, config, merges)
