"""The target's settings: their JSON schema (what ``--about`` shows, ranges and defaults
included), the checks a schema cannot make, and :class:`TargetSettings`, the one typed
view of a config the rest of the target reads.

Defaults live in the schema only; :data:`DEFAULTS` is read from it and every other
module takes its defaults from there. The connection settings (endpoint, credentials,
rate window, concurrency, daily budget) are the tap's too and come from
``marketo_core.connection``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import ValidationError
from marketo_core.connection import connection_errors, with_connection_settings
from singer_sdk import typing as th

from target_marketo_crm.objects import (
    ACTIONS,
    CUSTOM_PREFIX,
    MAX_RECORDS_PER_CALL,
    STANDARD_KINDS,
    normalize_object_name,
)

KNOWN_OBJECTS = (
    "salespersons, companies, leads, opportunities, opportunity_roles, program_members, "
    "list_members, campaign_requests or customobjects/<apiName>"
)

_STREAM_OBJECT = th.ObjectType(
    th.Property(
        "object", th.StringType, required=True,
        description="Marketo object: salespersons, companies, leads, opportunities, "
        "opportunity_roles, program_members, list_members, campaign_requests, or "
        "customobjects/<apiName>.",
    ),
    th.Property(
        "fields", th.ObjectType(additional_properties=th.StringType(nullable=True)),
        description="Renames, source field -> Marketo field (e.g. {\"Id\": "
        "\"externalCompanyId\"}); map a field to null to drop it.",
    ),
    th.Property("action", th.StringType(allowed_values=list(ACTIONS)),
                description="Overrides `actions` for this stream."),
    th.Property("delete_flag_field", th.StringType,
                description="Overrides `delete_flag_field` for this stream."),
    # A misspelt key ("field", "actions") would otherwise be ignored without a word.
    additional_properties=False,
)

CONFIG_SCHEMA: dict[str, Any] = with_connection_settings(th.PropertiesList(
    th.Property("lookup_field", th.StringType(min_length=1), default="email",
                description="Lead dedupe field (Marketo's lookupField). Adobe recommends "
                "a custom field holding the CRM id, so an email change cannot create a "
                "duplicate. Also how roles, memberships and campaign requests name their "
                "lead when they carry no Marketo leadId."),
    th.Property("partition_name", th.StringType,
                description="Lead partition for lead upserts (Marketo's partitionName)."),
    th.Property(
        "actions", th.ObjectType(additional_properties=th.StringType(
            allowed_values=list(ACTIONS))),
        description="Sync action per object, e.g. {\"companies\": \"updateOnly\"}; "
        "createOrUpdate by default. createOnly meeting an existing record is not a "
        "reject; updateOnly meeting a missing one is.",
    ),
    th.Property(
        "stream_objects", th.ObjectType(additional_properties=_STREAM_OBJECT),
        description="Streams with other names than the tap's (salespersons, companies, "
        "leads, opportunities, opportunity_roles, program_memberships, "
        "list_memberships, campaign_requests, custom_<apiName>): stream name -> "
        "{object, fields, action, delete_flag_field}. E.g. {\"Account\": {\"object\": "
        "\"companies\", \"fields\": {\"Id\": \"externalCompanyId\"}}}.",
    ),
    th.Property("delete_flag_field", th.StringType,
                description="A boolean field marking deleted records (e.g. a CRM's "
                "IsDeleted), besides `_sdc_deleted_at`. Never sent to Marketo."),
    th.Property("unknown_fields", th.StringType(allowed_values=["reject", "ignore"]),
                default="reject",
                description="A field Marketo's describe does not know: reject the record "
                "with 1006 (default) or drop the field and write the rest."),
    th.Property("reject_file", th.StringType,
                description="Path of a JSON-lines file receiving every record Marketo "
                "(or the target) refused: stream, object, op, key, code, message, record. "
                "Appended to, never truncated."),
    th.Property("fail_on_rejects", th.BooleanType, default=True,
                description="Exit non-zero at the end of a run whose rejects exceed "
                "`max_reject_share` (by default: any reject). Everything else is "
                "written first."),
    th.Property("max_reject_share", th.NumberType(minimum=0, maximum=1), default=0.0,
                description="Share of records (0..1) that may be rejected before "
                "`fail_on_rejects` fails the run."),
    th.Property("bulk_import_threshold", th.IntegerType(minimum=0), default=10_000,
                description="Lead upserts in one drain at or above this count go through "
                "bulk lead import (CSV files of <= 10 MB) instead of REST; 0 disables. "
                "Only for the createOrUpdate action."),
    th.Property("bulk_import_poll_seconds", th.NumberType(exclusive_minimum=0),
                default=5.0,
                description="Longest wait between bulk import status polls."),
    th.Property("cascade_deletes", th.BooleanType, default=True,
                description="Before deleting an opportunity, delete its remaining roles; "
                "before deleting a sales person, clear externalSalesPersonId on leads "
                "still pointing at it (Adobe's rule)."),
    th.Property("dry_run", th.BooleanType, default=False,
                description="Validate, map and plan (calls per object and action, "
                "logged) without writing anything."),
    th.Property("records_per_call",
                th.IntegerType(minimum=1, maximum=MAX_RECORDS_PER_CALL),
                default=MAX_RECORDS_PER_CALL,
                description="Records per REST write (Marketo's maximum is 300)."),
    th.Property("max_buffer_records", th.IntegerType(minimum=1), default=50_000,
                description="Buffered records (all streams) that trigger a drain. Order "
                "is guaranteed within a drain: a parent arriving after its children "
                "beyond this distance is written in a later drain."),
).to_dict(), headroom_setting=True)

SECRETS = frozenset(name for name, prop in CONFIG_SCHEMA["properties"].items()
                    if prop.get("secret"))

DEFAULTS: dict[str, Any] = {
    name: prop["default"]
    for name, prop in CONFIG_SCHEMA["properties"].items()
    if prop.get("default") is not None
}


def setting(config: Mapping[str, Any], name: str) -> Any:
    """A setting's value, or its default when left out or null (0 and "" are values:
    validation has already refused the ones that make no sense)."""
    value = config.get(name)
    return DEFAULTS.get(name) if value is None else value


def describe_setting_error(error: ValidationError) -> str:
    """One JSON schema error, naming its setting as config['name'] (the SDK's wording),
    except that the value of a secret setting is never quoted."""
    where = "".join(f"[{part!r}]" for part in error.path)
    if not where:
        return str(error.message)  # e.g. "'client_id' is a required property"
    message = error.message
    if str(error.path[0]) in SECRETS:
        message = f"the value (hidden) fails the schema's {error.validator!r} check"
    return f"{message} in config{where}"


def known_object_name(name: str) -> bool:
    """Whether a setting's object name names a Marketo object the target can write
    (a custom object's apiName is only checked against describe at run time)."""
    normalized = normalize_object_name(name)
    if normalized in STANDARD_KINDS:
        return True
    return normalized.startswith(CUSTOM_PREFIX) and len(normalized) > len(CUSTOM_PREFIX)


def setting_errors(config: Mapping[str, Any]) -> list[str]:
    """What the JSON schema cannot check: object names in ``actions`` and
    ``stream_objects``, and settings that contradict each other. Each names its setting."""
    errors: list[str] = []
    for name in config.get("actions") or {}:
        if not known_object_name(str(name)):
            errors.append(f"{name!r} is not a Marketo object ({KNOWN_OBJECTS}) in "
                          "config['actions']")
    for stream, binding in (config.get("stream_objects") or {}).items():
        object_name = str((binding or {}).get("object") or "")
        if not known_object_name(object_name):
            errors.append(f"{object_name!r} is not a Marketo object ({KNOWN_OBJECTS}) in "
                          f"config['stream_objects'][{stream!r}]['object']")
    errors.extend(connection_errors(config))
    return errors


@dataclass(frozen=True)
class TargetSettings:
    """The target's settings, defaults applied, as the rest of the target reads them."""

    lookup_field: str
    partition_name: str | None
    actions: dict[str, str]  # normalized object name -> action
    stream_objects: dict[str, dict[str, Any]]
    delete_flag_field: str | None
    unknown_fields: str
    reject_file: str | None
    fail_on_rejects: bool
    max_reject_share: float
    bulk_import_threshold: int
    bulk_import_poll_seconds: float
    cascade_deletes: bool
    dry_run: bool
    max_concurrency: int
    records_per_call: int
    max_buffer_records: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TargetSettings:
        def get(name: str) -> Any:
            return setting(config, name)

        return cls(
            lookup_field=str(get("lookup_field")),
            partition_name=get("partition_name"),
            actions={normalize_object_name(str(k)): str(v)
                     for k, v in (get("actions") or {}).items()},
            stream_objects=dict(get("stream_objects") or {}),
            delete_flag_field=get("delete_flag_field"),
            unknown_fields=str(get("unknown_fields")),
            reject_file=get("reject_file"),
            fail_on_rejects=bool(get("fail_on_rejects")),
            max_reject_share=float(get("max_reject_share")),
            bulk_import_threshold=int(get("bulk_import_threshold")),
            bulk_import_poll_seconds=float(get("bulk_import_poll_seconds")),
            cascade_deletes=bool(get("cascade_deletes")),
            dry_run=bool(get("dry_run")),
            max_concurrency=int(get("max_concurrency")),
            records_per_call=int(get("records_per_call")),
            max_buffer_records=int(get("max_buffer_records")),
        )
