"""The Marketo objects the target writes, their keys, and the order writes must follow.

Everything here is static knowledge about Marketo (docs/MARKETO.md sections 6 and 8);
what a describe call says at run time (custom objects, extra fields) lives in
``catalog.py``. The ORDER below is the heart of the target: whatever order the streams
arrive in, a drain writes in this order.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Op(enum.StrEnum):
    """What a record asks of Marketo."""

    UPSERT = "upsert"  # sync with an action (createOrUpdate, createOnly, updateOnly)
    DELETE = "delete"  # delete, or remove a membership
    TRIGGER = "trigger"  # request a smart campaign for a lead


class Family(enum.StrEnum):
    """Objects written through the same kind of endpoint."""

    LEADS = "leads"  # /rest/v1/leads.json with lookupField
    STANDARD = "standard"  # <object>.json with action + dedupeBy, <object>/delete.json
    CUSTOM = "custom"  # same protocol as STANDARD, keys from describe
    PROGRAM_MEMBERS = "program_members"  # per program: status, member data, delete
    LIST_MEMBERS = "list_members"  # per static list: add (POST), remove (DELETE)
    CAMPAIGN_REQUESTS = "campaign_requests"  # per smart campaign: trigger


ACTIONS = ("createOrUpdate", "createOnly", "updateOnly")
DEFAULT_ACTION = "createOrUpdate"

# Marketo's limits on one write call (docs/MARKETO.md section 3).
MAX_RECORDS_PER_CALL = 300
MAX_BODY_BYTES = 1_048_576
MAX_CAMPAIGN_LEADS_PER_CALL = 100
MAX_IMPORT_FILE_BYTES = 10_485_760


@dataclass(frozen=True)
class ObjectKind:
    """One Marketo object as the target writes it."""

    name: str  # our name, also the sandbox's ground-truth kind where one exists
    family: Family
    sync_path: str = ""
    delete_path: str = ""
    # Known keys; custom objects learn theirs from describe (ObjectKind is then rebuilt).
    dedupe_fields: tuple[str, ...] = ()
    id_field: str = "id"
    # Fields naming a lead by Marketo id, resolved from the lookup field when absent.
    lead_ref: str | None = None
    # Skip codes that, on a delete/removal, mean "already gone": a re-run is not a failure.
    gone_codes: frozenset[str] = frozenset()
    # For custom objects: the objects this one links to (Lead, Company, another type).
    parents: tuple[str, ...] = field(default=())

    @property
    def is_custom(self) -> bool:
        return self.family is Family.CUSTOM


# 1013 "object/record/membership not found" is Marketo's answer to deleting what is gone.
_NOT_FOUND = frozenset({"1013"})

SALESPERSONS = ObjectKind(
    "salespersons", Family.STANDARD, "/rest/v1/salespersons.json",
    "/rest/v1/salespersons/delete.json", ("externalSalesPersonId",), "id",
    gone_codes=_NOT_FOUND,
)
COMPANIES = ObjectKind(
    "companies", Family.STANDARD, "/rest/v1/companies.json",
    "/rest/v1/companies/delete.json", ("externalCompanyId",), "id",
    gone_codes=_NOT_FOUND,
)
LEADS = ObjectKind(
    "leads", Family.LEADS, "/rest/v1/leads.json", "/rest/v1/leads/delete.json",
    ("email",), "id",
    # 1004 "Lead not found": the lead was deleted already (or merged away).
    gone_codes=frozenset({"1004", "1013"}),
)
OPPORTUNITIES = ObjectKind(
    "opportunities", Family.STANDARD, "/rest/v1/opportunities.json",
    "/rest/v1/opportunities/delete.json", ("externalOpportunityId",), "marketoGUID",
    gone_codes=_NOT_FOUND,
)
OPPORTUNITY_ROLES = ObjectKind(
    "opportunity_roles", Family.STANDARD, "/rest/v1/opportunities/roles.json",
    "/rest/v1/opportunities/roles/delete.json",
    ("externalOpportunityId", "leadId", "role"), "marketoGUID", lead_ref="leadId",
    gone_codes=_NOT_FOUND,
)
PROGRAM_MEMBERS = ObjectKind(
    "program_members", Family.PROGRAM_MEMBERS, "/rest/v1/programs/{programId}/members.json",
    "/rest/v1/programs/{programId}/members/delete.json", ("programId", "leadId"), "leadId",
    lead_ref="leadId",
    # 1013 membership not found, 1037 "lead not in program": nothing left to remove.
    gone_codes=frozenset({"1004", "1013", "1037"}),
)
LIST_MEMBERS = ObjectKind(
    "list_members", Family.LIST_MEMBERS, "/rest/v1/lists/{listId}/leads.json",
    "/rest/v1/lists/{listId}/leads.json", ("listId", "leadId"), "leadId", lead_ref="leadId",
    # 1015 "Lead not in list", 1004 the lead itself is gone: the membership is gone too.
    gone_codes=frozenset({"1004", "1015"}),
)
CAMPAIGN_REQUESTS = ObjectKind(
    "campaign_requests", Family.CAMPAIGN_REQUESTS, "/rest/v1/campaigns/{campaignId}/trigger.json",
    "", ("campaignId", "leadId"), "leadId", lead_ref="leadId",
)

STANDARD_KINDS: dict[str, ObjectKind] = {
    kind.name: kind
    for kind in (
        SALESPERSONS, COMPANIES, LEADS, OPPORTUNITIES, OPPORTUNITY_ROLES,
        PROGRAM_MEMBERS, LIST_MEMBERS, CAMPAIGN_REQUESTS,
    )
}

CUSTOM_PREFIX = "customobjects/"


def custom_kind_name(api_name: str) -> str:
    return f"{CUSTOM_PREFIX}{api_name}"


def custom_object_kind(
    api_name: str,
    dedupe_fields: tuple[str, ...],
    id_field: str = "marketoGUID",
    parents: tuple[str, ...] = (),
    lead_ref: str | None = None,
) -> ObjectKind:
    return ObjectKind(
        custom_kind_name(api_name), Family.CUSTOM,
        f"/rest/v1/customobjects/{api_name}.json",
        f"/rest/v1/customobjects/{api_name}/delete.json",
        dedupe_fields, id_field, lead_ref=lead_ref, gone_codes=_NOT_FOUND, parents=parents,
    )


# Default stream name -> object: the tap's own stream names, so tap -> target round-trips.
DEFAULT_STREAMS: dict[str, str] = {
    "salespersons": "salespersons",
    "companies": "companies",
    "leads": "leads",
    "opportunities": "opportunities",
    "opportunity_roles": "opportunity_roles",
    "program_memberships": "program_members",
    "list_memberships": "list_members",
    "campaign_requests": "campaign_requests",
}
CUSTOM_STREAM_PREFIX = "custom_"


def object_for_stream(stream_name: str) -> str | None:
    """The default object of a stream name (``custom_<apiName>`` for custom objects)."""
    if stream_name in DEFAULT_STREAMS:
        return DEFAULT_STREAMS[stream_name]
    if stream_name.startswith(CUSTOM_STREAM_PREFIX) and len(stream_name) > len(
        CUSTOM_STREAM_PREFIX
    ):
        return custom_kind_name(stream_name[len(CUSTOM_STREAM_PREFIX):])
    return None


def normalize_object_name(name: str) -> str:
    """Accept the names users write in settings: ``customobjects/car``, ``custom_car``,
    ``program_memberships``..."""
    if name in STANDARD_KINDS or name.startswith(CUSTOM_PREFIX):
        return name
    mapped = object_for_stream(name)
    return mapped or name


# --- The order of writes in one drain ---------------------------------------------------
#
# Adobe's reference sequence for pushing CRM changes (docs/MARKETO.md section 8):
#   1 upsert sales persons · 2 upsert companies · 3 upsert leads · 7 delete leads ·
#   8 upsert opportunities · 9 upsert roles · 10 delete roles · 11 delete opportunities ·
#   12 delete companies · 13 delete sales persons · 14 custom objects.
# Steps 4-6 are reads a two-way sync does between pushes; the tap does them.
#
# Where we depart from it, and why: Adobe deletes leads (7) before roles (10), but a
# role is a child of its lead, and "a parent is never deleted before its children" is the
# stronger rule (deleting the lead first leaves the role delete a "not found" skip).
# Role deletes therefore move before lead deletes; nothing else in the sequence changes.
#
# What Adobe leaves open, and why we place it where we do:
# - Program and list membership need their leads to exist (after 3) and are removed
#   before the leads themselves go (before 7), so a removal never meets a deleted lead.
# - Custom object records are children of leads and companies: their UPSERTS come at
#   step 14 (every parent exists by then), but their DELETES come before the first delete
#   of any standard object, children-before-parents among custom types too, so no parent
#   is ever deleted while a child it owns is still waiting to be deleted.
# - Campaign requests come last: the campaign runs on the state everything else wrote.


class Slot(enum.StrEnum):
    """Placeholders in ORDER that expand to the custom object types present."""

    CUSTOM_UPSERTS = "custom upserts (parents first)"
    CUSTOM_DELETES = "custom deletes (children first)"


ORDER: tuple[tuple[str | Slot, Op], ...] = (
    ("salespersons", Op.UPSERT),
    ("companies", Op.UPSERT),
    ("leads", Op.UPSERT),
    ("program_members", Op.UPSERT),
    ("list_members", Op.UPSERT),
    ("program_members", Op.DELETE),
    ("list_members", Op.DELETE),
    ("opportunity_roles", Op.DELETE),
    (Slot.CUSTOM_DELETES, Op.DELETE),
    ("leads", Op.DELETE),
    ("opportunities", Op.UPSERT),
    ("opportunity_roles", Op.UPSERT),
    ("opportunities", Op.DELETE),
    ("companies", Op.DELETE),
    ("salespersons", Op.DELETE),
    (Slot.CUSTOM_UPSERTS, Op.UPSERT),
    ("campaign_requests", Op.TRIGGER),
)

# Marketo's names for the standard parents a custom object's relationship can point at.
RELATED_OBJECT_NAMES: dict[str, str] = {
    "lead": "leads",
    "leads": "leads",
    "company": "companies",
    "companies": "companies",
    "opportunity": "opportunities",
    "salesperson": "salespersons",
}


def custom_parents_first(kinds: dict[str, ObjectKind]) -> list[str]:
    """Custom object kind names, each after the custom types it links to.

    Links to standard objects do not constrain this order (those are placed by ORDER);
    a cycle (which Marketo does not allow) falls back to name order rather than hanging.
    """
    names = sorted(k for k, v in kinds.items() if v.is_custom)
    placed: list[str] = []
    remaining = set(names)
    while remaining:
        ready = [
            name for name in sorted(remaining)
            if not any(p in remaining and p != name for p in kinds[name].parents)
        ]
        if not ready:
            ready = sorted(remaining)
        for name in ready:
            placed.append(name)
            remaining.discard(name)
    return placed


def ordered_steps(kinds: dict[str, ObjectKind]) -> list[tuple[str, Op]]:
    """ORDER with the custom-object slots expanded for ``kinds``."""
    parents_first = custom_parents_first(kinds)
    steps: list[tuple[str, Op]] = []
    for name, op in ORDER:
        if name is Slot.CUSTOM_UPSERTS:
            steps.extend((custom, op) for custom in parents_first)
        elif name is Slot.CUSTOM_DELETES:
            steps.extend((custom, op) for custom in reversed(parents_first))
        else:
            steps.append((str(name), op))
    return steps
