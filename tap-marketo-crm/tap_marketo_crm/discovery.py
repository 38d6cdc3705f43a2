"""Streams from Marketo's describe endpoints (discovery), or from a catalog (sync runs).

Discovery costs about ten calls (lead, object and member describes, activity types, the
custom object list and one describe per custom object). A run given a catalog rebuilds
every stream from the catalog alone: what a sync needs beyond names and types is kept in
the schema (see ``schemas``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from singer_sdk.singerlib import Catalog

from tap_marketo_crm import schemas as s
from tap_marketo_crm.activity_feed import DELETE_LEAD
from tap_marketo_crm.streams.activities import (
    ACTIVITY_PREFIX,
    ActivityStream,
    ActivityTypesStream,
)
from tap_marketo_crm.streams.assets import ASSET_STREAMS
from tap_marketo_crm.streams.campaigns import CampaignsStream
from tap_marketo_crm.streams.channels import CHANNEL_STREAMS
from tap_marketo_crm.streams.crm_objects import (
    ByKeyStream,
    CompaniesStream,
    OpportunitiesStream,
    OpportunityRolesStream,
    SalespersonsStream,
)
from tap_marketo_crm.streams.custom_objects import CUSTOM_PREFIX, CustomObjectStream
from tap_marketo_crm.streams.files import FILE_STREAMS
from tap_marketo_crm.streams.form_fields import FORM_FIELD_STREAMS
from tap_marketo_crm.streams.leads import DeletedLeadsStream, LeadsStream
from tap_marketo_crm.streams.lists import ListMembershipsStream, StaticListsStream
from tap_marketo_crm.streams.program_assets import PROGRAM_ASSET_STREAMS
from tap_marketo_crm.streams.programs import ProgramMembershipsStream, ProgramsStream
from tap_marketo_crm.streams.segmentations import SEGMENTATION_STREAMS
from tap_marketo_crm.streams.smart_lists import SMART_LIST_STREAMS
from tap_marketo_crm.streams.templates import TEMPLATE_STREAMS

if TYPE_CHECKING:
    from marketo_core import MarketoClient

    from tap_marketo_crm.streams.base import MarketoStream
    from tap_marketo_crm.tap import TapMarketoCRM

# Streams whose schema is fixed (Marketo publishes no describe for them).
FIXED_STREAMS: tuple[type[MarketoStream], ...] = (
    ActivityTypesStream,
    DeletedLeadsStream,
    ProgramsStream,
    StaticListsStream,
    ListMembershipsStream,
    CampaignsStream,
    # Design assets: not selected by default (see ``streams.assets``).
    *ASSET_STREAMS,
    *TEMPLATE_STREAMS,
    *SEGMENTATION_STREAMS,
    *SMART_LIST_STREAMS,
    *FILE_STREAMS,
    *FORM_FIELD_STREAMS,
    *PROGRAM_ASSET_STREAMS,
    *CHANNEL_STREAMS,
)

# Streams whose schema comes from a describe endpoint (path of its describe).
DESCRIBED_OBJECTS: tuple[tuple[type[ByKeyStream], str], ...] = (
    (CompaniesStream, "/rest/v1/companies/describe.json"),
    (SalespersonsStream, "/rest/v1/salespersons/describe.json"),
    (OpportunitiesStream, "/rest/v1/opportunities/describe.json"),
    (OpportunityRolesStream, "/rest/v1/opportunities/roles/describe.json"),
)

_CATALOG_STREAMS: tuple[type[MarketoStream], ...] = (
    *FIXED_STREAMS,
    LeadsStream,
    ProgramMembershipsStream,
    *(cls for cls, _ in DESCRIBED_OBJECTS),
)
BY_NAME: dict[str, type[MarketoStream]] = {cls.name: cls for cls in _CATALOG_STREAMS}

# Delete Lead (37) is not exportable in bulk; it is the `deleted_leads` stream.
NOT_EXPORTABLE_ACTIVITY_TYPES = frozenset({DELETE_LEAD})


def streams_from_marketo(tap: TapMarketoCRM, client: MarketoClient) -> list[MarketoStream]:
    streams: list[MarketoStream] = [cls(tap, cls.fixed_schema()) for cls in FIXED_STREAMS]

    lead_fields = client.get("/rest/v1/leads/describe.json").get("result") or []
    streams.append(LeadsStream(tap, LeadsStream.schema_from_describe(lead_fields)))

    for cls, path in DESCRIBED_OBJECTS:
        described = _first(client.get(path))
        streams.append(cls(tap, cls.schema_from_describe(described)))

    members = _first(client.get("/rest/v1/programs/members/describe.json"))
    streams.append(
        ProgramMembershipsStream(tap, ProgramMembershipsStream.schema_from_describe(members))
    )

    types = client.get("/rest/v1/activities/types.json").get("result") or []
    exportable = [t for t in types if int(t["id"]) not in NOT_EXPORTABLE_ACTIVITY_TYPES]
    for type_id, name in s.activity_stream_names(exportable).items():
        activity_type = next(t for t in exportable if int(t["id"]) == type_id)
        streams.append(ActivityStream(tap, s.activity_schema(activity_type), name=name))

    for summary in client.get("/rest/v1/customobjects.json").get("result") or []:
        api_name = summary.get("name")
        if not api_name:
            continue
        described = _first(client.get(f"/rest/v1/customobjects/{api_name}/describe.json"))
        streams.append(
            CustomObjectStream(
                tap,
                CustomObjectStream.schema_from_describe(described),
                name=f"{CUSTOM_PREFIX}{api_name}",
                key=described.get("idField") or "marketoGUID",
            )
        )
    return streams


def streams_from_catalog(tap: TapMarketoCRM, catalog: Catalog) -> list[MarketoStream]:
    streams: list[MarketoStream] = []
    for entry in catalog.streams:
        name = entry.tap_stream_id
        schema = entry.schema.to_dict()
        if name in BY_NAME:
            streams.append(BY_NAME[name](tap, schema))
        elif name.startswith(ACTIVITY_PREFIX) and s.activity_type_id_of(schema) is not None:
            streams.append(ActivityStream(tap, schema, name=name))
        elif name.startswith(CUSTOM_PREFIX):
            keys = list(entry.key_properties or []) or ["marketoGUID"]
            streams.append(CustomObjectStream(tap, schema, name=name, key=keys[0]))
        else:
            tap.logger.warning("Catalog stream '%s' is unknown to this tap; ignored", name)
    return streams


def _first(envelope: dict[str, Any]) -> dict[str, Any]:
    result = envelope.get("result") or []
    return result[0] if result and isinstance(result[0], dict) else {}
