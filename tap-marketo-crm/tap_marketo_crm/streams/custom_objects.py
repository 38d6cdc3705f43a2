"""Custom objects: ``custom_<apiName>``, one stream per custom object type, read by bulk
export in ``updatedAt`` windows (docs/MARKETO.md section 5).

Where the subscription refuses that filter (1035) for custom objects, a type is read by
REST by the keys its records link to instead (``read_mode: linked_keys`` in its state).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from marketo_core.errors import MarketoAPIError, MarketoError

from tap_marketo_crm import schemas as s
from tap_marketo_crm.records import RecordWriter
from tap_marketo_crm.scheduling import Lookahead
from tap_marketo_crm.streams.base import MAX_KEYS, chunked
from tap_marketo_crm.streams.exported import UNSUPPORTED_FILTER, WindowedExportStream
from tap_marketo_crm.streams.leads import lead_keys

CUSTOM_PREFIX = "custom_"
# Custom object read modes (``read_mode`` in the stream's state).
BULK = "bulk"
LINKED_KEYS = "linked_keys"


class CustomObjectStream(WindowedExportStream):
    """``custom_<apiName>``: one custom object type by bulk export on ``updatedAt``.

    Where the subscription refuses that filter (1035), the stream falls back, once and
    for good (``read_mode: linked_keys`` in its state, with a warning every run), to REST
    reads by the keys its records link to, 300 per call: the ids of the leads seen this
    run for lead-linked types, the ``externalCompanyId`` values seen on leads and other
    objects this run for company-linked ones (all leads on its first sync). Every
    record of those parents is written, whatever its ``updatedAt``. Limitation: a record
    changed while its parent did not change is seen only when the parent does.
    """

    read_mode_key = "read_mode"
    # Records point at a lead or a company; read by linked keys, they use the keys seen
    # on leads and opportunities this run.
    depends_on = ("leads", "opportunities", "companies")

    def __init__(
        self, tap: Any, schema: dict[str, Any], name: str, key: str = "marketoGUID"
    ) -> None:
        self.primary_keys_default = (key,)
        super().__init__(tap, schema, name=name)

    @property
    def api_name(self) -> str:
        return self.name[len(CUSTOM_PREFIX) :]

    @property
    def entity(self) -> str:
        return f"customobjects/{self.api_name}"

    @property
    def link(self) -> s.ObjectLink | None:
        return s.object_link_of(self.schema)

    @property
    def read_mode(self) -> str:
        return str(self.stream_state.get(self.read_mode_key) or BULK)

    def data_floor(self) -> dt.datetime | None:
        # No record predates its type; lead-linked records are never older than the
        # oldest living lead either (see ``probe``). Both are lower bounds: the later wins.
        bounds = [self.run.object_type_floor(self.api_name)]
        link = self.link
        if link is not None and link.parent.lower() == "lead":
            bounds.append(self.run.lead_floor())
        found = [b for b in bounds if b is not None]
        return max(found) if found else None

    def harvested_lead_fields(self) -> tuple[str, ...]:
        """The lead field whose values this stream reads by this run, when it reads by
        linked keys (the leads stream then harvests them)."""
        if self.read_mode != LINKED_KEYS:
            return ()
        link = self.link
        return (link.lead_field,) if link is not None and link.lead_field else ()

    def refused_ahead(self, exc: MarketoError) -> None:
        # A 1035 to a job queued ahead is the refusal the stream's own turn would meet:
        # the switch to linked keys is made now, so Marketo is not asked twice.
        if (
            isinstance(exc, MarketoAPIError)
            and exc.code == UNSUPPORTED_FILTER
            and self.filter_field == "updatedAt"
            and self.link is not None
            and self.link.lead_field is not None
        ):
            self.stream_state[self.read_mode_key] = LINKED_KEYS
            self.stream_state["export_job"] = None
            self.save_state()

    def export_lookahead(self) -> Lookahead | None:
        if self.read_mode == LINKED_KEYS:
            return None  # read by REST: no export to queue ahead
        return super().export_lookahead()

    @classmethod
    def schema_from_describe(cls, described: Mapping[str, Any]) -> dict[str, Any]:
        properties = s.fields_schema(described.get("fields") or [])
        id_field = described.get("idField") or "marketoGUID"
        if id_field in properties:
            properties[id_field] = {
                "type": [t for t in properties[id_field]["type"] if t != "null"]
            }
        s.mark_link(properties, s.link_from_describe(described))
        return s.object_schema(properties)

    def sync_records(self) -> None:
        if self.read_mode != LINKED_KEYS:
            try:
                super().sync_records()
                return
            except MarketoAPIError as exc:
                if exc.code != UNSUPPORTED_FILTER or self.filter_field != "updatedAt":
                    raise
                if self.link is None or self.link.lead_field is None:
                    raise MarketoAPIError(
                        f"{exc.message}; and the type's link to its parent is unknown, so "
                        "its records cannot be read by linked keys instead",
                        code=exc.code,
                        endpoint=exc.endpoint,
                    ) from exc
                # Detected once; state keeps the mode so later runs do not ask again.
                self.stream_state[self.read_mode_key] = LINKED_KEYS
                self.stream_state["export_job"] = None
                self.save_state()
        self.read_linked()

    def read_linked(self) -> None:
        link = self.link
        assert link is not None, self.name
        assert link.lead_field is not None, self.name
        parent = "lead ids" if link.parent.lower() == "lead" else f"{link.parent_field} values"
        self.logger.warning(
            "'%s': this Marketo subscription refuses the bulk updatedAt filter for custom "
            "objects (1035); reading its records by the %s seen this run instead, 300 per "
            "call. Records changed while their %s did not are missed until it does.",
            self.name,
            parent,
            link.parent.lower(),
        )
        keys = lead_keys(self, link.lead_field)
        if link.parent.lower() == "company":
            keys |= self.run.object_keys.get(link.parent_field, set())
        writer = RecordWriter(self, text_input=False)
        fields = [n for n in self.selected_properties() if not n.startswith("_sdc_")]
        path = f"/rest/v1/customobjects/{self.api_name}.json"
        for batch in chunked(sorted(k for k in keys if k), MAX_KEYS):
            for record in self.client.iter_results(
                path,
                {
                    "filterType": link.field,
                    "filterValues": batch,
                    "fields": fields,
                    "batchSize": MAX_KEYS,
                },
            ):
                writer.write(record)
        self.log_written(writer, f" (read by {len(keys)} linked keys)")
        self.commit_bookmark(self.run.now, export_job=None)
