"""The lead database's schema, as ``/rest/v1/leads/describe.json`` reports it.

A lead is stored as one JSON document holding only its non-null values, keyed by REST
field name; :func:`project_lead` turns it into what Marketo answers (every requested
field present, ``null`` when empty). Writes go through :func:`coerce_value`, which applies
Marketo's per-``dataType`` rules (a bad value skips the record with 1001).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from marketo_sandbox import timestamps
from marketo_sandbox.envelope import ApiError
from marketo_sandbox.model.shared import COMPANY_FIELDS
from marketo_sandbox.timestamps import format_datetime


@dataclass(frozen=True)
class FieldSpec:
    id: int
    name: str
    display_name: str
    data_type: str
    length: int | None = None
    read_only: bool = False
    custom: bool = False
    # Managed by the CRM sync (sfdc* ids): describe2 reports crmManaged.
    crm_managed: bool = False
    # Has a SOAP name (Marketo's older API); custom fields keep their REST name there.
    soap: bool = True


def _f(
    id_: int, name: str, display: str, data_type: str, length: int | None = None, **kw: Any
) -> FieldSpec:
    return FieldSpec(id_, name, display, data_type, length, **kw)


# Standard fields first (ids as low as Marketo's own), then the instance's custom fields.
_SPECS: tuple[FieldSpec, ...] = (
    _f(1, "id", "Id", "integer", read_only=True),
    # Company-type fields (model.shared.COMPANY_FIELDS): owned by the company record once
    # the lead is linked to one.
    _f(2, "company", "Company Name", "string", 255),
    _f(3, "site", "Site", "string", 255),
    _f(4, "billingStreet", "Billing Address", "textarea", 65535),
    _f(5, "billingCity", "Billing City", "string", 255),
    _f(6, "billingState", "Billing State", "string", 255),
    _f(7, "billingCountry", "Billing Country", "string", 255),
    _f(8, "billingPostalCode", "Billing Postal Code", "string", 255),
    _f(9, "website", "Website", "url", 255),
    _f(10, "mainPhone", "Main Phone", "phone", 255),
    _f(11, "annualRevenue", "Annual Revenue", "currency"),
    _f(12, "numberOfEmployees", "Num Employees", "integer"),
    _f(13, "industry", "Industry", "string", 255),
    _f(14, "sicCode", "SIC Code", "string", 40),
    _f(20, "salutation", "Salutation", "string", 255),
    _f(21, "firstName", "First Name", "string", 255),
    _f(22, "middleName", "Middle Name", "string", 255),
    _f(23, "lastName", "Last Name", "string", 255),
    _f(24, "email", "Email Address", "email", 255),
    _f(25, "phone", "Phone Number", "phone", 255),
    _f(26, "mobilePhone", "Mobile Phone Number", "phone", 255),
    _f(27, "fax", "Fax Number", "phone", 255),
    _f(28, "title", "Job Title", "string", 255),
    _f(29, "contactCompany", "Contact Company", "reference"),
    _f(30, "dateOfBirth", "Date of Birth", "date"),
    _f(31, "address", "Address", "text", 2000),
    _f(32, "city", "City", "string", 255),
    _f(33, "state", "State", "string", 255),
    _f(34, "country", "Country", "string", 255),
    _f(35, "postalCode", "Postal Code", "string", 255),
    _f(36, "personTimeZone", "Person Time Zone", "string", 255, read_only=True),
    _f(37, "originalSourceType", "Original Source Type", "string", 255, read_only=True),
    _f(38, "originalSourceInfo", "Original Source Info", "string", 255, read_only=True),
    _f(39, "registrationSourceType", "Registration Source Type", "string", 255),
    _f(40, "registrationSourceInfo", "Registration Source Info", "string", 255),
    _f(41, "originalSearchEngine", "Original Search Engine", "string", 255, read_only=True),
    _f(42, "originalSearchPhrase", "Original Search Phrase", "string", 255, read_only=True),
    _f(43, "originalReferrer", "Original Referrer", "url", 255, read_only=True),
    _f(44, "emailInvalid", "Email Invalid", "boolean"),
    _f(45, "emailInvalidCause", "Email Invalid Cause", "string", 255),
    _f(46, "unsubscribed", "Unsubscribed", "boolean"),
    _f(47, "unsubscribedReason", "Unsubscribed Reason", "textarea", 65535),
    _f(48, "doNotCall", "Do Not Call", "boolean"),
    _f(49, "doNotCallReason", "Do Not Call Reason", "string", 255),
    _f(50, "marketingSuspended", "Marketing Suspended", "boolean"),
    _f(51, "marketingSuspendedReason", "Marketing Suspended Reason", "string", 255),
    _f(52, "blackListed", "Blocklisted", "boolean"),
    _f(53, "blackListedCause", "Blocklisted Cause", "string", 255),
    _f(54, "leadScore", "Lead Score", "integer"),
    _f(55, "urgency", "Urgency", "float"),
    _f(56, "priority", "Priority", "integer"),
    _f(57, "relativeScore", "Relative Score", "integer"),
    _f(58, "relativeUrgency", "Relative Urgency", "integer"),
    _f(59, "rating", "Lead Rating", "string", 255),
    _f(60, "leadStatus", "Lead Status", "string", 255),
    _f(61, "leadSource", "Lead Source", "string", 255),
    _f(62, "leadRole", "Lead Role", "string", 255),
    _f(63, "department", "Department", "string", 255),
    # The partition is chosen with `partitionName` on sync, never written as a field.
    _f(64, "leadPartitionId", "Lead Partition Id", "integer", read_only=True),
    _f(65, "leadRevenueCycleModelId", "Lead Revenue Cycle Model Id", "integer", read_only=True),
    _f(66, "leadRevenueStageId", "Lead Revenue Stage Id", "integer", read_only=True),
    _f(67, "acquisitionProgramId", "Acquisition Program Id", "integer"),
    _f(68, "mktoAcquisitionDate", "Acquisition Date", "datetime"),
    _f(69, "createdAt", "Created At", "datetime", read_only=True),
    _f(70, "updatedAt", "Updated At", "datetime", read_only=True),
    _f(71, "cookies", "Cookies", "string", 255),
    _f(72, "externalCompanyId", "External Company Id", "string", 100),
    _f(73, "externalSalesPersonId", "External Sales Person Id", "string", 100),
    _f(74, "sfdcAccountId", "SFDC Account Id", "string", 18, read_only=True, crm_managed=True),
    _f(75, "sfdcContactId", "SFDC Contact Id", "string", 18, read_only=True, crm_managed=True),
    _f(76, "sfdcLeadId", "SFDC Lead Id", "string", 18, read_only=True, crm_managed=True),
    _f(77, "sfdcLeadOwnerId", "SFDC Lead Owner Id", "string", 18, read_only=True, crm_managed=True),
    _f(78, "sfdcOpptyId", "SFDC Oppty Id", "string", 18, read_only=True, crm_managed=True),
    _f(79, "sfdcType", "SFDC Type", "string", 255, read_only=True, crm_managed=True),
    _f(80, "facebookId", "Facebook Id", "string", 255),
    _f(81, "linkedInId", "LinkedIn Id", "string", 255),
    _f(82, "twitterId", "Twitter Id", "string", 255),
    _f(83, "anonymousIP", "Anonymous IP", "string", 255),
    _f(84, "inferredCompany", "Inferred Company", "string", 255, read_only=True),
    _f(85, "inferredCountry", "Inferred Country", "string", 255, read_only=True),
    _f(86, "inferredCity", "Inferred City", "string", 255, read_only=True),
    _f(87, "inferredStateRegion", "Inferred State Region", "string", 255, read_only=True),
    _f(88, "inferredPostalCode", "Inferred Postal Code", "string", 255, read_only=True),
    _f(89, "inferredMetropolitanArea", "Inferred Metropolitan Area", "string", 255, read_only=True),
    _f(90, "inferredPhoneAreaCode", "Inferred Phone Area Code", "string", 255, read_only=True),
    _f(91, "isAnonymous", "Is Anonymous", "boolean", read_only=True),
    _f(92, "isLead", "Is Lead", "boolean", read_only=True),
    _f(93, "personType", "Person Type", "string", 255, read_only=True),
    _f(94, "mktoName", "Full Name", "string", 255, read_only=True),
    _f(95, "lastInterestingMomentDate", "Last Interesting Moment Date", "datetime", read_only=True),
    _f(
        96,
        "lastInterestingMomentDesc",
        "Last Interesting Moment Desc",
        "string",
        255,
        read_only=True,
    ),
    # Custom fields of this instance: one of every dataType Marketo describes, and the
    # CRM's contact id (the recommended lookupField for CRM sync, docs/MARKETO.md section 8).
    _f(1001, "crmContactId", "CRM Contact Id", "string", 255, custom=True, soap=False),
    _f(1002, "preferredLanguage", "Preferred Language", "string", 255, custom=True, soap=False),
    _f(1003, "lastTradeShowAt", "Last Trade Show Visit", "datetime", custom=True, soap=False),
    _f(1004, "contractStartDate", "Contract Start Date", "date", custom=True, soap=False),
    _f(1005, "seatsRequested", "Seats Requested", "integer", custom=True, soap=False),
    _f(1006, "discountPercent", "Discount Percent", "percent", custom=True, soap=False),
    _f(1007, "behaviorScore", "Behavior Score", "score", custom=True, soap=False),
    _f(1008, "engagementIndex", "Engagement Index", "float", custom=True, soap=False),
    _f(1009, "lifetimeValue", "Lifetime Value", "currency", custom=True, soap=False),
    _f(1010, "isCustomer", "Is Customer", "boolean", custom=True, soap=False),
    _f(1011, "secondaryEmail", "Secondary Email", "email", 255, custom=True, soap=False),
    _f(1012, "referredByLeadId", "Referred By Lead", "reference", custom=True, soap=False),
    _f(1013, "linkedInProfileUrl", "LinkedIn Profile URL", "url", 255, custom=True, soap=False),
    _f(1014, "assistantPhone", "Assistant Phone", "phone", 255, custom=True, soap=False),
    _f(
        1015,
        "productInterestNotes",
        "Product Interest Notes",
        "textarea",
        65535,
        custom=True,
        soap=False,
    ),
    _f(
        1016, "qualificationSummary", "Qualification Summary", "text", 2000, custom=True, soap=False
    ),
    _f(1017, "buyingRole", "Buying Role", "lead_function", custom=True, soap=False),
    _f(1018, "productInterests", "Product Interests", "array", custom=True, soap=False),
)

FIELD_SPECS: dict[str, FieldSpec] = {s.name: s for s in _SPECS}
FIELD_SPECS_BY_ID: dict[int, FieldSpec] = {s.id: s for s in _SPECS}
_BY_LOWER: dict[str, str] = {s.name.lower(): s.name for s in _SPECS}

# Fields Marketo lets `filterType` / `lookupField` use: the named standard ones, plus any
# custom string, email or integer field (swagger, getLeadsByFilterUsingGET).
_STANDARD_SEARCHABLE = (
    "id",
    "email",
    "cookies",
    "facebookId",
    "leadPartitionId",
    "linkedInId",
    "sfdcAccountId",
    "sfdcContactId",
    "sfdcLeadId",
    "sfdcLeadOwnerId",
    "sfdcOpptyId",
    "twitterId",
)
SEARCHABLE_FIELDS: tuple[str, ...] = _STANDARD_SEARCHABLE + tuple(
    s.name for s in _SPECS if s.custom and s.data_type in ("string", "email", "integer")
)

# What `lead/{id}.json` and `leads.json` return without `fields` (swagger wording).
DEFAULT_READ_FIELDS: tuple[str, ...] = (
    "id",
    "email",
    "updatedAt",
    "createdAt",
    "firstName",
    "lastName",
)

# Kept by Marketo itself; a sync never writes them.
SYSTEM_FIELDS: frozenset[str] = frozenset(
    {"id", "createdAt", "updatedAt", "leadPartitionId", "mktoName"}
)

# The partitions this sandbox knows: Default always exists; the seed defines the others
# in a subscription it fills with leads (domain.leads.lead_partitions lists the defined ones).
LEAD_PARTITIONS: tuple[dict[str, Any], ...] = (
    {"id": 1, "name": "Default", "description": "Initial system lead partition"},
    {"id": 2, "name": "EMEA", "description": "Leads owned by the EMEA marketing team"},
    {"id": 3, "name": "APAC", "description": "Leads owned by the APAC marketing team"},
)
DEFAULT_PARTITION_ID = 1


def _describe(spec: FieldSpec) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": spec.id,
        "displayName": spec.display_name,
        "dataType": spec.data_type,
    }
    if spec.length is not None:
        item["length"] = spec.length
    item["rest"] = {"name": spec.name, "readOnly": spec.read_only}
    if spec.soap:
        item["soap"] = {"name": spec.name[:1].upper() + spec.name[1:], "readOnly": spec.read_only}
    return item


# describe.json items, in Marketo's shape.
LEAD_FIELDS: list[dict[str, Any]] = [_describe(s) for s in _SPECS]
LEAD_FIELDS_BY_NAME: dict[str, dict[str, Any]] = {f["rest"]["name"]: f for f in LEAD_FIELDS}


def describe2() -> dict[str, Any]:
    """The single ``describe2.json`` result item."""
    fields = []
    for spec in _SPECS:
        item: dict[str, Any] = {
            "name": spec.name,
            "displayName": spec.display_name,
            "dataType": spec.data_type,
        }
        if spec.length is not None:
            item["length"] = spec.length
        item["updateable"] = not spec.read_only
        item["crmManaged"] = spec.crm_managed
        fields.append(item)
    return {
        "name": "API Lead",
        "searchableFields": [[name] for name in SEARCHABLE_FIELDS],
        "fields": fields,
    }


def lead_field_names() -> list[str]:
    return [s.name for s in _SPECS]


def canonical_field(name: str) -> str | None:
    """The REST name of a field, matched without regard to case (as Marketo does)."""
    if name in FIELD_SPECS:
        return name
    return _BY_LOWER.get(name.lower())


def project_lead(data: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """A lead as the REST API returns it: the requested fields, ``null`` when empty."""
    return {name: data.get(name) for name in fields}


def full_name(data: dict[str, Any]) -> str | None:
    name = " ".join(p for p in (data.get("firstName"), data.get("lastName")) if p)
    return name or None


def company_values(company: dict[str, Any]) -> dict[str, Any]:
    """The company-type values a linked lead shows, taken from its company record."""
    return {name: company.get(name) for name in COMPANY_FIELDS}


# -- values ------------------------------------------------------------------------------


class FieldValueError(ValueError):
    """A value Marketo would refuse for a field (record skipped with 1001)."""

    def __init__(self, field: str, value: Any, data_type: str) -> None:
        self.field = field
        self.value = value
        self.data_type = data_type
        super().__init__(
            f"Invalid value '{value}'. Required of type '{data_type}' for field '{field}'"
        )


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_INT = re.compile(r"^[+-]?\d+$")
def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT.match(value.strip()):
        return int(value.strip())
    raise ValueError


def _to_number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int | float):
        number = value
    elif isinstance(value, str):
        number = float(value.strip())
    else:
        raise ValueError
    if isinstance(number, float):
        if not math.isfinite(number):
            raise ValueError
        if number.is_integer() and abs(number) < 2**53:
            return int(number)
    return number


_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n"}


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise ValueError


def _to_text(value: Any, limit: int | None) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float | str):
        text = str(value)
    else:
        raise ValueError
    if limit is not None and len(text) > limit:
        raise ValueError
    return text


def coerce_value(name: str, value: Any) -> Any:
    """The stored form of ``value`` for field ``name``; FieldValueError when Marketo refuses it.

    An empty string clears a field, as it does in Marketo.
    """
    spec = FIELD_SPECS[name]
    if value is None or (isinstance(value, str) and value == ""):
        return None
    kind = spec.data_type
    try:
        if kind in ("integer", "score", "reference"):
            return _to_int(value)
        if kind in ("float", "currency", "percent"):
            return _to_number(value)
        if kind == "boolean":
            return _to_bool(value)
        if kind == "datetime":
            if not isinstance(value, str):
                raise ValueError
            return format_datetime(timestamps.parse(value))
        if kind == "date":
            if not isinstance(value, str):
                raise ValueError
            text = value.strip()
            # A datetime sent for a date field keeps its own calendar day.
            timestamps.parse(text)
            return date.fromisoformat(text[:10]).isoformat()
        if kind == "array":
            if isinstance(value, str):
                # Marketo array fields also take a JSON array written as text.
                value = json.loads(value)
            if not isinstance(value, list) or not all(
                isinstance(v, str | int | float) for v in value
            ):
                raise ValueError
            return [str(v) for v in value]
        text = _to_text(value, spec.length)
        if kind == "email" and not _EMAIL.match(text):
            raise ValueError
        return text
    except (ValueError, TypeError, OverflowError):
        raise FieldValueError(name, value, kind) from None


def activity_text(value: Any) -> str | None:
    """A field value as Change Data Value activities carry it (text, Marketo-style)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def resolve_read_fields(requested: list[str]) -> list[str]:
    """The fields a lead read returns: Marketo's defaults when none are asked for, else
    the asked ones by their REST names, ``id`` always first; an unknown name is 1006."""
    if not requested:
        return list(DEFAULT_READ_FIELDS)
    out = ["id"]
    for name in requested:
        canonical = canonical_field(name)
        if canonical is None:
            raise ApiError("1006", f"Field '{name}' not found")
        if canonical not in out:
            out.append(canonical)
    return out
