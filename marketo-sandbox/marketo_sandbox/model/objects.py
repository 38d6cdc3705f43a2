"""The CRM object types, custom object types, program member fields and channels.

Everything here is metadata: what the describe endpoints publish and what the generic
standard-sync implementation (``domain/objects.py``) validates against. Records live in the
store's ``objects`` table (kind = :attr:`ObjectType.kind`, pk = idField value, dkey = the
canonical dedupe key); program members in ``program_members``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from marketo_sandbox.model.shared import (
    COMPANY_FIELDS,
    KIND_COMPANIES,
    KIND_OPPORTUNITIES,
    KIND_OPPORTUNITY_ROLES,
    KIND_SALESPERSONS,
    custom_object_kind,
)
from marketo_sandbox.profiles import SECOND_LEVEL_OBJECTS
from marketo_sandbox.store import dedupe_key
from marketo_sandbox.timestamps import asset_ts

# Object types Marketo published before any record existed; describe reports these.
TYPES_CREATED_AT = "2015-02-03T22:36:23Z"
TYPES_UPDATED_AT = "2015-02-03T22:36:24Z"

# Marketo publishes `length` only for text-like types.
_TEXT_TYPES = frozenset({"string", "email", "url", "phone", "text", "textarea", "reference"})


def field_def(
    name: str, display: str, data_type: str, *, length: int | None = None, updateable: bool = True
) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "displayName": display, "dataType": data_type}
    if data_type in _TEXT_TYPES:
        out["length"] = length or 255
    out["updateable"] = updateable
    return out


@dataclass(frozen=True)
class Link:
    """A field that points at another record (validated on write, checked on delete)."""

    field: str
    # "lead" (leads table, by id), or an OBJECT_TYPES key matched on `target_field`.
    target: str
    target_field: str


@dataclass(frozen=True)
class ObjectType:
    name: str  # key in OBJECT_TYPES (the custom object apiName for custom objects)
    kind: str  # store kind in the `objects` table
    path: str  # REST path without ".json"
    id_field: str
    dedupe_fields: tuple[str, ...]
    searchable_fields: tuple[tuple[str, ...], ...]
    fields: tuple[dict[str, Any], ...]
    describe_name: str
    display_name: str
    description: str = ""
    plural_name: str | None = None
    relationships: tuple[dict[str, Any], ...] = ()
    api_name: str | None = None
    links: tuple[Link, ...] = ()
    # Fields a create must carry besides the dedupe fields (opportunity `name`).
    required_on_create: tuple[str, ...] = ()
    # Fields a read returns without `fields`; None = idField, dedupe fields, timestamps.
    default_fields: tuple[str, ...] | None = None
    # The instance profile (marketo_sandbox.profiles) without which the type does not
    # exist on the instance (domain/object_types.py); None: every instance has it.
    profile: str | None = None
    _by_lower: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_lower.update({f["name"].lower(): f for f in self.fields})

    @property
    def is_custom(self) -> bool:
        return self.api_name is not None

    @property
    def field_names(self) -> list[str]:
        return [f["name"] for f in self.fields]

    def get_field(self, name: str) -> dict[str, Any] | None:
        """A field by name; Marketo matches field names case-insensitively (docs send
        ``marketoGuid`` for ``marketoGUID``)."""
        return self._by_lower.get(str(name).lower())

    def canonical(self, name: str) -> str | None:
        found = self.get_field(name)
        return found["name"] if found else None

    def integer_id(self) -> bool:
        found = self.get_field(self.id_field)
        return bool(found and found["dataType"] == "integer")

    def dkey(self, record: dict[str, Any]) -> str:
        return dedupe_key(record.get(f) for f in self.dedupe_fields)

    def read_defaults(self) -> list[str]:
        if self.default_fields is not None:
            return list(self.default_fields)
        seen: list[str] = []
        for name in (self.id_field, *self.dedupe_fields, "createdAt", "updatedAt"):
            if name not in seen:
                seen.append(name)
        return seen

    def render(self, record: dict[str, Any], fields: list[str] | None = None) -> dict[str, Any]:
        """A record as a REST read returns it: idField first, then the requested fields;
        fields without a value are left out (Marketo: "implied value of null")."""
        wanted = fields if fields is not None else self.read_defaults()
        out: dict[str, Any] = {}
        for name in (self.id_field, *wanted):
            if name not in out and record.get(name) is not None:
                out[name] = record[name]
        return out

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.describe_name, "displayName": self.display_name}
        if self.description:
            out["description"] = self.description
        if self.plural_name:
            out["pluralName"] = self.plural_name
        out.update(
            {
                "createdAt": TYPES_CREATED_AT,
                "updatedAt": TYPES_UPDATED_AT,
                "idField": self.id_field,
                "dedupeFields": list(self.dedupe_fields),
                "searchableFields": [list(s) for s in self.searchable_fields],
            }
        )
        if self.is_custom:
            out["relationships"] = [dict(r) for r in self.relationships]
        out["fields"] = [dict(f) for f in self.fields]
        return out

    def summary(self) -> dict[str, Any]:
        """The entry of ``GET /rest/v1/customobjects.json`` (describe without fields)."""
        out = self.describe()
        out.pop("fields")
        return out


_EXTERNAL_OPPORTUNITY_ID = field_def(
    "externalOpportunityId", "External Opportunity Id", "string", length=50, updateable=False
)


def _timestamps() -> list[dict[str, Any]]:
    return [
        field_def("createdAt", "Created At", "datetime", updateable=False),
        field_def("updatedAt", "Updated At", "datetime", updateable=False),
    ]


# -- standard CRM objects ------------------------------------------------------------

_COMPANY_FIELD_TYPES: dict[str, tuple[str, str, int | None]] = {
    "company": ("Company Name", "string", 255),
    "site": ("Site", "string", 255),
    "billingStreet": ("Billing Address", "textarea", 255),
    "billingCity": ("Billing City", "string", 255),
    "billingState": ("Billing State", "string", 255),
    "billingCountry": ("Billing Country", "string", 255),
    "billingPostalCode": ("Billing Postal Code", "string", 255),
    "website": ("Website", "url", 255),
    "mainPhone": ("Main Phone", "phone", 255),
    "annualRevenue": ("Annual Revenue", "currency", None),
    "numberOfEmployees": ("Num Employees", "integer", None),
    "industry": ("Industry", "string", 255),
    "sicCode": ("SIC Code", "string", 40),
}


def _company_field(name: str) -> dict[str, Any]:
    display, data_type, length = _COMPANY_FIELD_TYPES.get(name, (name, "string", 255))
    return field_def(name, display, data_type, length=length)


COMPANIES = ObjectType(
    name="companies",
    kind=KIND_COMPANIES,
    path="/rest/v1/companies",
    id_field="id",
    dedupe_fields=("externalCompanyId",),
    searchable_fields=(("externalCompanyId",), ("id",), ("company",)),
    fields=(
        *_timestamps(),
        field_def(
            "externalCompanyId", "External Company Id", "string", length=100, updateable=False
        ),
        field_def("id", "Id", "integer", updateable=False),
        field_def("externalSalesPersonId", "External Sales Person Id", "string", length=100),
        *(_company_field(name) for name in COMPANY_FIELDS),
    ),
    describe_name="Company",
    display_name="Company",
    description="Company object",
)

SALESPERSONS = ObjectType(
    name="salespersons",
    kind=KIND_SALESPERSONS,
    path="/rest/v1/salespersons",
    id_field="id",
    dedupe_fields=("externalSalesPersonId",),
    searchable_fields=(("email",), ("id",), ("externalSalesPersonId",)),
    fields=(
        field_def("id", "Marketo Id", "integer", updateable=False),
        *_timestamps(),
        field_def("externalSalesPersonId", "External Sales Person Id", "string", updateable=False),
        field_def("email", "Email", "email"),
        field_def("firstName", "First Name", "string"),
        field_def("lastName", "Last Name", "string"),
        field_def("title", "Title", "string"),
        field_def("phone", "Phone", "phone"),
        field_def("mobilePhone", "Mobile Phone", "phone"),
        field_def("fax", "Fax", "phone"),
    ),
    describe_name="SalesPerson",
    display_name="Sales Person",
    # Adobe: "By default, the query returns all populated fields".
    default_fields=(
        "externalSalesPersonId",
        "email",
        "firstName",
        "lastName",
        "title",
        "phone",
        "mobilePhone",
        "fax",
        "createdAt",
        "updatedAt",
    ),
)

OPPORTUNITIES = ObjectType(
    name="opportunities",
    kind=KIND_OPPORTUNITIES,
    path="/rest/v1/opportunities",
    id_field="marketoGUID",
    dedupe_fields=("externalOpportunityId",),
    searchable_fields=(("externalOpportunityId",), ("marketoGUID",)),
    fields=(
        field_def("marketoGUID", "Marketo GUID", "string", length=36, updateable=False),
        *_timestamps(),
        _EXTERNAL_OPPORTUNITY_ID,
        field_def("name", "Name", "string"),
        field_def("description", "Description", "string", length=2000),
        field_def("type", "Type", "string"),
        field_def("stage", "Stage", "string"),
        field_def("amount", "Amount", "currency"),
        field_def("expectedRevenue", "Expected Revenue", "currency"),
        field_def("probability", "Probability", "integer"),
        field_def("closeDate", "Close Date", "date"),
        field_def("isClosed", "Closed", "boolean"),
        field_def("isWon", "Won", "boolean"),
        field_def("fiscalYear", "Fiscal Year", "integer"),
        field_def("fiscalQuarter", "Fiscal Quarter", "integer"),
        field_def("forecastCategoryName", "Forecast Category Name", "string"),
        field_def("leadSource", "Opportunity Source", "string"),
        field_def("nextStep", "Next Step", "string"),
        field_def("lastActivityDate", "Last Activity Date", "date"),
        field_def("externalCompanyId", "External Company Id", "string", length=100),
        field_def("externalSalesPersonId", "External Sales Person Id", "string", length=100),
        field_def("externalCreatedDate", "External Created Date", "datetime"),
    ),
    describe_name="opportunity",
    display_name="Opportunity",
    # Adobe: the opportunity 'name' field must not be null.
    required_on_create=("name",),
)

OPPORTUNITY_ROLES = ObjectType(
    name="opportunity_roles",
    kind=KIND_OPPORTUNITY_ROLES,
    path="/rest/v1/opportunities/roles",
    id_field="marketoGUID",
    dedupe_fields=("externalOpportunityId", "leadId", "role"),
    searchable_fields=(
        ("externalOpportunityId", "leadId", "role"),
        ("marketoGUID",),
        ("leadId",),
        ("externalOpportunityId",),
    ),
    fields=(
        field_def("marketoGUID", "Marketo GUID", "string", length=36, updateable=False),
        *_timestamps(),
        _EXTERNAL_OPPORTUNITY_ID,
        field_def("leadId", "Lead Id", "integer", updateable=False),
        field_def("role", "Role", "string", length=50, updateable=False),
        field_def("isPrimary", "Is Primary", "boolean"),
        field_def("externalCreatedDate", "External Created Date", "datetime"),
    ),
    describe_name="opportunityRole",
    display_name="Opportunity Role",
    # "For record creation to succeed, the opportunity and lead referenced by the ID fields
    # must exist in the destination instance."
    links=(
        Link("leadId", "lead", "id"),
        Link("externalOpportunityId", "opportunities", "externalOpportunityId"),
    ),
)


# -- custom objects ------------------------------------------------------------------


def _custom(
    *,
    api_name: str,
    display: str,
    plural: str,
    description: str,
    dedupe: tuple[str, ...],
    searchable: tuple[tuple[str, ...], ...],
    link: Link,
    related_to: str,
    fields: list[dict[str, Any]],
    profile: str | None = None,
) -> ObjectType:
    return ObjectType(
        name=api_name,
        kind=custom_object_kind(api_name),
        path=f"/rest/v1/customobjects/{api_name}",
        id_field="marketoGUID",
        dedupe_fields=dedupe,
        searchable_fields=searchable,
        fields=(
            field_def("createdAt", "Created At", "datetime", updateable=False),
            field_def("marketoGUID", "Marketo GUID", "string", length=36, updateable=False),
            field_def("updatedAt", "Updated At", "datetime", updateable=False),
            *fields,
        ),
        describe_name=api_name,
        display_name=display,
        description=description,
        plural_name=plural,
        relationships=(
            {
                "field": link.field,
                "type": "child",
                "relatedTo": {"name": related_to, "field": link.target_field},
            },
        ),
        api_name=api_name,
        links=(link,),
        # A custom object record hangs off its parent: the link field is needed to create it.
        required_on_create=(link.field,),
        profile=profile,
    )


CARS = _custom(
    api_name="car_c",
    display="Car",
    plural="Cars",
    description="Cars owned by a person",
    dedupe=("vin",),
    searchable=(("vin",), ("marketoGUID",), ("leadId",)),
    link=Link("leadId", "lead", "id"),
    related_to="Lead",
    fields=[
        field_def("vin", "VIN", "string", length=36, updateable=False),
        field_def("leadId", "Lead ID", "integer"),
        field_def("make", "Make", "string"),
        field_def("model", "Model", "string"),
        field_def("year", "Year", "integer"),
        field_def("color", "Color", "string"),
        field_def("price", "Price", "currency"),
        field_def("mileage", "Mileage", "float"),
        field_def("isLeased", "Leased", "boolean"),
        field_def("purchaseDate", "Purchase Date", "date"),
        field_def("lastServiceAt", "Last Service", "datetime"),
    ],
)

SUBSCRIPTIONS = _custom(
    api_name="subscription_c",
    display="Subscription",
    plural="Subscriptions",
    description="Product subscriptions held by a company",
    dedupe=("subscriptionId",),
    searchable=(("subscriptionId",), ("marketoGUID",), ("externalCompanyId",)),
    link=Link("externalCompanyId", "companies", "externalCompanyId"),
    related_to="Company",
    fields=[
        field_def("subscriptionId", "Subscription Id", "string", length=50, updateable=False),
        field_def("externalCompanyId", "External Company Id", "string", length=100),
        field_def("plan", "Plan", "string"),
        field_def("seats", "Seats", "integer"),
        field_def("mrr", "Monthly Recurring Revenue", "currency"),
        field_def("discount", "Discount", "percent"),
        field_def("autoRenew", "Auto Renew", "boolean"),
        field_def("startDate", "Start Date", "date"),
        field_def("renewalDate", "Renewal Date", "date"),
        field_def("status", "Status", "string"),
        field_def("notes", "Notes", "textarea", length=2000),
    ],
)

# A second-level custom object: its records hang off a car (by the car's VIN), not off a
# lead or a company. Only instances with the ``second-level-objects`` profile have it.
SERVICE_VISITS = _custom(
    api_name="serviceVisit_c",
    display="Service Visit",
    plural="Service Visits",
    description="Workshop visits of a car",
    dedupe=("visitId",),
    searchable=(("visitId",), ("marketoGUID",), ("carVin",)),
    link=Link("carVin", "car_c", "vin"),
    related_to="car_c",
    fields=[
        field_def("visitId", "Visit Id", "string", length=50, updateable=False),
        field_def("carVin", "Car VIN", "string", length=36),
        field_def("visitDate", "Visit Date", "date"),
        field_def("workshop", "Workshop", "string"),
        field_def("cost", "Cost", "currency"),
        field_def("odometer", "Odometer", "integer"),
        field_def("warranty", "Under Warranty", "boolean"),
    ],
    profile=SECOND_LEVEL_OBJECTS,
)

OBJECT_TYPES: dict[str, ObjectType] = {
    t.name: t
    for t in (
        COMPANIES,
        SALESPERSONS,
        OPPORTUNITIES,
        OPPORTUNITY_ROLES,
        CARS,
        SUBSCRIPTIONS,
        SERVICE_VISITS,
    )
}


def custom_object_types() -> list[ObjectType]:
    return [t for t in OBJECT_TYPES.values() if t.is_custom]


def custom_object_type(api_name: str) -> ObjectType | None:
    found = OBJECT_TYPES.get(api_name)
    return found if found is not None and found.is_custom else None


def lead_links() -> list[tuple[ObjectType, str]]:
    """(object type, field) of every record type that points at a lead by id: what a lead
    delete or merge has to take along (opportunity roles, lead-linked custom objects)."""
    return [(t, link.field) for t in OBJECT_TYPES.values() for link in t.links
            if link.target == "lead"]


# -- program members -----------------------------------------------------------------


def _pm(
    name: str, data_type: str, *, length: int | None = None, updateable: bool = False
) -> dict[str, Any]:
    # Adobe's describe uses the API name as the display name for member fields.
    out = field_def(name, name, data_type, length=length, updateable=updateable)
    out["crmManaged"] = False
    return out


PROGRAM_MEMBER_STANDARD_FIELDS: tuple[dict[str, Any], ...] = (
    _pm("acquiredBy", "boolean"),
    _pm("attendanceLikelihood", "integer"),
    _pm("createdAt", "datetime"),
    _pm("isExhausted", "boolean"),
    _pm("leadId", "integer"),
    _pm("membershipDate", "datetime"),
    _pm("nurtureCadence", "string", length=4),
    _pm("program", "string"),
    _pm("programId", "integer"),
    _pm("reachedSuccess", "boolean"),
    _pm("reachedSuccessDate", "datetime"),
    _pm("registrationLikelihood", "integer"),
    _pm("statusName", "string"),
    _pm("statusReason", "string"),
    _pm("trackName", "string"),
    _pm("updatedAt", "datetime"),
    _pm("waitlistPriority", "integer"),
)

# Custom program member fields (an instance may have up to 20); all are updateable.
PROGRAM_MEMBER_CUSTOM_FIELDS: tuple[dict[str, Any], ...] = (
    _pm("webinarUrl", "string", length=2000, updateable=True),
    _pm("registrationCode", "string", length=100, updateable=True),
    _pm("pollResponse", "string", updateable=True),
    _pm("boothVisited", "boolean", updateable=True),
    _pm("questionsAsked", "integer", updateable=True),
)

PROGRAM_MEMBER_FIELDS: tuple[dict[str, Any], ...] = (
    PROGRAM_MEMBER_STANDARD_FIELDS + PROGRAM_MEMBER_CUSTOM_FIELDS
)

# Without `fields`, Get Program Members returns these (Adobe).
PROGRAM_MEMBER_DEFAULT_FIELDS: tuple[str, ...] = (
    "acquiredBy",
    "leadId",
    "membershipDate",
    "programId",
    "reachedSuccess",
)

# filterType values Get Program Members accepts besides custom string/integer fields.
PROGRAM_MEMBER_SEARCHABLE: tuple[str, ...] = ("leadId", "reachedSuccess", "statusName", "updatedAt")


def program_member_field(name: str) -> dict[str, Any] | None:
    lower = str(name).lower()
    for f in PROGRAM_MEMBER_FIELDS:
        if f["name"].lower() == lower:
            return f
    return None


def program_member_searchable() -> list[list[str]]:
    names = [
        "leadId",
        *(
            f["name"]
            for f in PROGRAM_MEMBER_CUSTOM_FIELDS
            if f["dataType"] in ("string", "integer")
        ),
        "reachedSuccess",
        "statusName",
    ]
    return [[n] for n in names]


def render_program_member(data: dict[str, Any], fields: list[str] | None = None) -> dict[str, Any]:
    """A membership row as Get Program Members returns it (without ``seq``)."""
    wanted = list(fields) if fields else list(PROGRAM_MEMBER_DEFAULT_FIELDS)
    out: dict[str, Any] = {"leadId": data["leadId"]}
    for name in wanted:
        if name not in out:
            out[name] = data.get(name)
    return out


def render_membership(data: dict[str, Any], *, engagement: bool) -> dict[str, Any]:
    """A lead's ``membership`` object as the lead-database reads of membership return it
    (Get Leads by Program; a lead's program memberships add ``id`` and ``updatedAt``).
    Adobe: "If the parent program is an engagement program, membership also includes
    stream, nurtureCadence": outside engagement programs the keys are absent, not null."""
    out: dict[str, Any] = {
        "acquiredBy": bool(data.get("acquiredBy")),
        "isExhausted": bool(data.get("isExhausted")),
        "membershipDate": data.get("membershipDate"),
        "progressionStatus": data.get("statusName"),
        "reachedSuccess": bool(data.get("reachedSuccess")),
    }
    if engagement:
        out["nurtureCadence"] = data.get("nurtureCadence")
        out["stream"] = data.get("trackName")
    return out


# -- channels and their progression statuses -----------------------------------------


@dataclass(frozen=True)
class ProgressionStatus:
    name: str
    step: int
    success: bool = False
    hidden: bool = False
    description: str | None = None


@dataclass(frozen=True)
class Channel:
    id: int
    name: str
    # Channel.applicableProgramType as the Channels API names it.
    applicable_program_type: str
    statuses: tuple[ProgressionStatus, ...]

    def status(self, name: str) -> ProgressionStatus | None:
        for s in self.statuses:
            if s.name.lower() == str(name).lower():
                return s
        return None

    def status_id(self, name: str) -> int | None:
        for i, s in enumerate(self.statuses):
            if s.name.lower() == str(name).lower():
                return self.id * 100 + i
        return None

    def as_asset(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "applicableProgramType": self.applicable_program_type,
            "progressionStatuses": [
                {
                    "name": s.name,
                    "step": s.step,
                    "description": s.description,
                    "hidden": s.hidden,
                    "success": s.success,
                }
                for s in self.statuses
            ],
            "createdAt": asset_ts(TYPES_CREATED_AT),
            "updatedAt": asset_ts(TYPES_UPDATED_AT),
        }


NOT_IN_PROGRAM = ProgressionStatus("Not in Program", 0)

# Statuses sharing a step are siblings: a member may move between them, but never to a
# lower step (Marketo skips such a change with 1037).
CHANNELS: dict[str, Channel] = {
    c.name: c
    for c in (
        Channel(
            1,
            "Webinar",
            "event",
            (
                NOT_IN_PROGRAM,
                ProgressionStatus("Invited", 10),
                ProgressionStatus("Registered", 20),
                ProgressionStatus("No Show", 30),
                ProgressionStatus("Attended", 40, success=True),
                ProgressionStatus("Attended On-demand", 40, success=True),
            ),
        ),
        Channel(
            2,
            "Tradeshow",
            "event",
            (
                NOT_IN_PROGRAM,
                ProgressionStatus("Invited", 10),
                ProgressionStatus("Registered", 20),
                ProgressionStatus("No Show", 30),
                ProgressionStatus("Visited Booth", 40, success=True),
                ProgressionStatus("Engaged", 50, success=True),
            ),
        ),
        Channel(
            3,
            "Email Send",
            "email",
            (
                NOT_IN_PROGRAM,
                ProgressionStatus("Member", 10),
                ProgressionStatus("Sent", 20),
                ProgressionStatus("Engaged", 30, success=True),
            ),
        ),
        Channel(
            4,
            "Email Blast",
            "program",
            (
                NOT_IN_PROGRAM,
                ProgressionStatus("Member", 10),
                ProgressionStatus("Engaged", 20, success=True),
            ),
        ),
        Channel(
            5,
            "Nurture",
            "nurture",
            (
                NOT_IN_PROGRAM,
                ProgressionStatus("Member", 10),
                ProgressionStatus("Engaged", 20, success=True),
            ),
        ),
        Channel(
            6,
            "Content",
            "program",
            (
                NOT_IN_PROGRAM,
                ProgressionStatus("Member", 10),
                ProgressionStatus("Downloaded", 20, success=True),
            ),
        ),
        Channel(
            7,
            "Online Advertising",
            "program",
            (
                NOT_IN_PROGRAM,
                ProgressionStatus("Invited", 10),
                ProgressionStatus("Registered", 20),
                ProgressionStatus("No Show", 30),
                ProgressionStatus("Attended", 40, success=True),
            ),
        ),
        Channel(
            8,
            "Operational",
            "program",
            (
                NOT_IN_PROGRAM,
                ProgressionStatus("Member", 10),
            ),
        ),
    )
}

# The program type whose members stream through tracks (nurture cadence, exhaustion).
ENGAGEMENT = "Engagement"

# Program type (as the asset API spells it) -> the channels a program of that type may use.
PROGRAM_TYPES: dict[str, tuple[str, ...]] = {
    "Default": ("Email Blast", "Content", "Online Advertising", "Operational"),
    "Event": ("Tradeshow",),
    "Event with Webinar": ("Webinar",),
    "Email": ("Email Send",),
    "Engagement": ("Nurture",),
}

# Engagement programs stream members through tracks (Marketo calls them streams).
NURTURE_TRACKS: tuple[str, ...] = ("Default Stream", "Early Stage", "Late Stage")
NURTURE_CADENCES: tuple[str, ...] = ("norm", "paus")


def channel(name: str) -> Channel | None:
    return CHANNELS.get(name)
