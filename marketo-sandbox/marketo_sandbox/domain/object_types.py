"""Which custom object types an instance has, and which of them bulk export serves.

A type that belongs to a profile (``ObjectType.profile``, e.g. the second-level
``serviceVisit_c`` of ``second-level-objects``) exists only while that profile is on: its
records are seeded on every instance, but list, describe, REST reads and writes, bulk
import and bulk export answer for it as for an unknown type otherwise.

Adobe's bulk custom object extract serves "first-level Marketo custom object records
that are linked directly to a lead" (docs/MARKETO.md section 9): with the
``second-level-objects`` profile the sandbox refuses the export of any other type (a
company-linked one, a second-level one) at create. Without it the sandbox keeps its
idealized default and exports company-linked types through the leads of the company.
"""

from __future__ import annotations

from marketo_sandbox.config import SandboxConfig
from marketo_sandbox.envelope import ApiError
from marketo_sandbox.model.objects import ObjectType, custom_object_type, custom_object_types
from marketo_sandbox.profiles import SECOND_LEVEL_OBJECTS

# Marketo's answer to an export of a type that is not linked to leads is not documented;
# 1003 (invalid data) is what it answers other requests it cannot serve at create.
NOT_FIRST_LEVEL = "1003"


def on_instance(config: SandboxConfig, ot: ObjectType) -> bool:
    return ot.profile is None or config.has_profile(ot.profile)


def instance_custom_type(config: SandboxConfig, api_name: str) -> ObjectType | None:
    """The custom object type ``api_name`` if this instance has it."""
    found = custom_object_type(api_name)
    return found if found is not None and on_instance(config, found) else None


def instance_custom_types(config: SandboxConfig) -> list[ObjectType]:
    return [t for t in custom_object_types() if on_instance(config, t)]


def absent_kinds(config: SandboxConfig) -> set[str]:
    """Store kinds of the custom object types this instance does not have now."""
    return {t.kind for t in custom_object_types() if not on_instance(config, t)}


def check_bulk_exportable(config: SandboxConfig, ot: ObjectType) -> None:
    """Refuse a bulk export create for a type Marketo's bulk extract does not serve."""
    if not config.has_profile(SECOND_LEVEL_OBJECTS):
        return
    link = ot.links[0] if ot.links else None
    if link is None or link.target == "lead":
        return
    parent = "a company" if link.target == "companies" else f"custom object '{link.target}'"
    raise ApiError(
        NOT_FIRST_LEVEL,
        f"Custom object '{ot.name}' is linked to {parent}, not to a lead: bulk export "
        "serves only first-level custom objects linked directly to leads",
    )
