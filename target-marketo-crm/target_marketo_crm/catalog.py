"""What Marketo says about its objects at run time: fields, keys, custom object types.

Describe is the only source of truth for fields (docs/MARKETO.md section 8: custom fields
appear and vanish), so each run reads it once per object it writes, and never guesses.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from marketo_core.client import MarketoClient

from target_marketo_crm.objects import (
    COMPANIES,
    CUSTOM_PREFIX,
    LEADS,
    RELATED_OBJECT_NAMES,
    STANDARD_KINDS,
    Family,
    ObjectKind,
    custom_kind_name,
    custom_object_kind,
)

_LOG = logging.getLogger("target_marketo_crm.catalog")

# Where each standard object's describe lives.
_DESCRIBE_PATHS: dict[str, str] = {
    "leads": "/rest/v1/leads/describe.json",
    "companies": "/rest/v1/companies/describe.json",
    "salespersons": "/rest/v1/salespersons/describe.json",
    "opportunities": "/rest/v1/opportunities/describe.json",
    "opportunity_roles": "/rest/v1/opportunities/roles/describe.json",
    "program_members": "/rest/v1/programs/members/describe.json",
}

# Lead fields that link a lead to other objects: never "company-type" even when the
# company describe lists them too (a lead has its own sales owner).
_LINK_FIELDS = frozenset(
    {"id", "externalCompanyId", "externalSalesPersonId", "createdAt", "updatedAt",
     "marketoGUID", "sfdcAccountId", "sfdcContactId", "sfdcLeadId", "sfdcLeadOwnerId"}
)


class UnknownObjectError(ValueError):
    """A stream is bound to an object this Marketo instance does not have."""


@dataclass(frozen=True)
class FieldInfo:
    name: str
    data_type: str = "string"
    writable: bool = True


@dataclass
class Description:
    kind: ObjectKind
    fields: dict[str, FieldInfo] = field(default_factory=dict)

    def writable(self, name: str) -> bool:
        info = self.fields.get(name)
        return info is not None and info.writable

    def knows(self, name: str) -> bool:
        return name in self.fields


class Catalog:
    """Describe results, fetched on first use and kept for the run (thread-safe)."""

    def __init__(self, client: MarketoClient, *, logger: logging.Logger | None = None) -> None:
        self.client = client
        self.log = logger or _LOG
        self._lock = threading.RLock()
        self._descriptions: dict[str, Description] = {}
        self._custom_types: dict[str, dict[str, Any]] | None = None
        self._company_type_fields: frozenset[str] | None = None

    # --- object kinds ----------------------------------------------------------------------

    def kind(self, name: str) -> ObjectKind:
        if name in STANDARD_KINDS:
            return STANDARD_KINDS[name]
        return self.describe(name).kind

    def known_kinds(self) -> dict[str, ObjectKind]:
        """Every kind described so far (what a plan can contain)."""
        with self._lock:
            kinds = dict(STANDARD_KINDS)
            kinds.update({name: d.kind for name, d in self._descriptions.items()})
            return kinds

    def custom_types(self) -> dict[str, dict[str, Any]]:
        """``GET /rest/v1/customobjects.json``: every custom object type by apiName."""
        with self._lock:
            if self._custom_types is None:
                body = self.client.get("/rest/v1/customobjects.json")
                self._custom_types = {
                    str(item.get("name")): item for item in body.get("result") or []
                    if isinstance(item, dict) and item.get("name")
                }
            return self._custom_types

    # --- describe --------------------------------------------------------------------------

    def describe(self, name: str) -> Description:
        with self._lock:
            cached = self._descriptions.get(name)
            if cached is not None:
                return cached
            if name == LEADS.name:
                description = self._describe_leads()
            elif name.startswith(CUSTOM_PREFIX):
                description = self._describe_custom(name[len(CUSTOM_PREFIX):])
            elif name in _DESCRIBE_PATHS:
                description = self._describe_standard(STANDARD_KINDS[name])
            elif name in STANDARD_KINDS:
                # Lists and campaigns have no describe: their records carry only keys.
                description = Description(STANDARD_KINDS[name])
            else:
                raise UnknownObjectError(f"Marketo has no object named {name!r}")
            self._descriptions[name] = description
            return description

    def _describe_leads(self) -> Description:
        body = self.client.get(_DESCRIBE_PATHS["leads"])
        fields: dict[str, FieldInfo] = {}
        for item in body.get("result") or []:
            rest = item.get("rest") if isinstance(item, dict) else None
            if not isinstance(rest, dict) or not rest.get("name"):
                continue  # a field without `rest` cannot be written over REST
            name = str(rest["name"])
            fields[name] = FieldInfo(
                name, str(item.get("dataType") or "string"), not bool(rest.get("readOnly"))
            )
        return Description(LEADS, fields)

    def _standard_fields(self, result: dict[str, Any], keys: set[str]) -> dict[str, FieldInfo]:
        fields: dict[str, FieldInfo] = {}
        for item in result.get("fields") or []:
            if not isinstance(item, dict) or not item.get("name"):
                continue
            name = str(item["name"])
            # Dedupe fields often describe as not updateable (a key cannot change), yet
            # every sync must carry them.
            writable = bool(item.get("updateable", True)) or name in keys
            fields[name] = FieldInfo(name, str(item.get("dataType") or "string"), writable)
        return fields

    def _describe_standard(self, kind: ObjectKind) -> Description:
        body = self.client.get(_DESCRIBE_PATHS[kind.name])
        results = body.get("result") or [{}]
        result = results[0] if isinstance(results[0], dict) else {}
        keys = {*kind.dedupe_fields, kind.id_field}
        if kind.family is Family.PROGRAM_MEMBERS:
            keys = {"leadId"}
        fields = self._standard_fields(result, keys)
        return Description(kind, fields)

    def _describe_custom(self, api_name: str) -> Description:
        try:
            body = self.client.get(f"/rest/v1/customobjects/{api_name}/describe.json")
        except Exception as exc:  # a missing type answers 1013 / 610 depending on instance
            raise UnknownObjectError(
                f"custom object {api_name!r} could not be described: {exc}"
            ) from exc
        results = body.get("result") or []
        if not results or not isinstance(results[0], dict):
            raise UnknownObjectError(f"Marketo has no custom object {api_name!r}")
        result = results[0]
        dedupe = tuple(str(f) for f in result.get("dedupeFields") or ())
        id_field = str(result.get("idField") or "marketoGUID")
        relationships = result.get("relationships")
        if relationships is None:
            relationships = (self.custom_types().get(api_name) or {}).get("relationships")
        parents = tuple(self._parent_names(relationships or []))
        kind = custom_object_kind(api_name, dedupe, id_field, parents,
                                  _lead_id_link(relationships or []))
        fields = self._standard_fields(result, {*dedupe, id_field})
        return Description(kind, fields)

    def _parent_names(self, relationships: list[Any]) -> list[str]:
        names = []
        for rel in relationships:
            if not isinstance(rel, dict):
                continue
            related = rel.get("relatedTo") or {}
            target = str(related.get("name") or "") if isinstance(related, dict) else ""
            if not target:
                continue
            standard = RELATED_OBJECT_NAMES.get(target.lower())
            names.append(standard or custom_kind_name(target))
        return names

    # --- lead conversion ---------------------------------------------------------------------

    def company_type_fields(self) -> frozenset[str]:
        """Lead fields that belong to the company once a lead is linked to one.

        Those are the fields both describes list (docs/MARKETO.md section 8: "company-type
        fields then belong to the company record"), minus the link and system fields.
        """
        with self._lock:
            if self._company_type_fields is None:
                lead_fields = self.describe(LEADS.name).fields
                company_fields = self.describe(COMPANIES.name).fields
                self._company_type_fields = frozenset(
                    name for name, info in company_fields.items()
                    if name in lead_fields and name not in _LINK_FIELDS and info.writable
                )
            return self._company_type_fields


def _lead_id_link(relationships: list[Any]) -> str | None:
    """The field of a custom object holding its lead's Marketo id, if it links that way:
    a CRM names the lead by its own key, so that field is resolved like a role's leadId."""
    for rel in relationships:
        if not isinstance(rel, dict):
            continue
        related = rel.get("relatedTo") or {}
        if (
            isinstance(related, dict)
            and str(related.get("name") or "").lower() in ("lead", "leads")
            and str(related.get("field") or "").lower() == "id"
            and rel.get("field")
        ):
            return str(rel["field"])
    return None
