"""Custom objects: ``custom_<apiName>``, one stream per custom object type, read by bulk
export in ``updatedAt`` windows (docs/MARKETO.md section 5).

A type is read by REST by the keys its records link to instead (``read_mode:
linked_keys`` in its state) where bulk export cannot serve it: the subscription refuses
the ``updatedAt`` filter (1035), or Marketo refuses to export the type at all because it
is not linked to leads (a company-linked or a second-level custom object: bulk export
serves only first-level objects linked directly to leads, docs/MARKETO.md section 9).
A second-level type's records are read by the link values of its parent custom object's
records read this run (its stream runs after the parent's).

Marketo changes nothing on a lead when one of its custom object records changes, so
reads by the keys of the leads changed this run miss such a record. Every
``custom_object_rescan_interval_days`` a lead- or company-linked type read by linked keys
is read whole instead: by the keys of every lead, as a new table version ended by
ACTIVATE_VERSION, so a loader that honours it also drops the records Marketo deleted.
The runs in between carry that version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from marketo_core.errors import MarketoAPIError, MarketoError

from tap_marketo_crm import schemas as s
from tap_marketo_crm.records import RecordWriter
from tap_marketo_crm.scheduling import Lookahead
from tap_marketo_crm.settings import setting
from tap_marketo_crm.streams.base import MAX_KEYS, chunked
from tap_marketo_crm.streams.exported import UNSUPPORTED_FILTER, WindowedExportStream
from tap_marketo_crm.streams.leads import lead_keys

CUSTOM_PREFIX = "custom_"
# Custom object read modes (``read_mode`` in the stream's state).
BULK = "bulk"
LINKED_KEYS = "linked_keys"


class CustomObjectStream(WindowedExportStream):
    """``custom_<apiName>``: one custom object type by bulk export on ``updatedAt``.

    Where the subscription refuses that filter (1035), or Marketo refuses to export a
    type not linked to leads, the stream falls back, once and for good (``read_mode:
    linked_keys`` in its state, with a warning every run), to REST reads by the keys its
    records link to, 300 per call: the ids of the leads seen this run for lead-linked
    types, the ``externalCompanyId`` values seen on leads and other objects this run for
    company-linked ones (all leads on its first sync), the link values of the parent
    type's records read this run for second-level ones. Every record of those parents is
    written, whatever its ``updatedAt``. A record changed while its parent did not is
    seen at the next whole re-read (``custom_object_rescan_interval_days``) for lead- and
    company-linked types, and only when the parent changes for second-level ones.
    """

    read_mode_key = "read_mode"

    @property
    def depends_on(self) -> tuple[str, ...]:  # type: ignore[override]
        """Records point at a lead, a company or another custom object; read by linked
        keys, they use the keys seen on leads, opportunities, companies or the parent
        type's records this run."""
        base = ("leads", "opportunities", "companies")
        parent = self.parent_stream
        return (*base, parent) if parent is not None else base

    @property
    def parent_stream(self) -> str | None:
        """The stream of the custom object type this one's records hang off (second
        level), or None when they hang off a lead or a company."""
        link = self.link
        if link is None or link.parent.lower() in ("lead", "company"):
            return None
        return f"{CUSTOM_PREFIX}{link.parent}"

    def __init__(
        self, tap: Any, schema: dict[str, Any], name: str, key: str = "marketoGUID"
    ) -> None:
        self.primary_keys_default = (key,)
        # Fields whose values this run keeps for second-level types (see on_row).
        self._harvest: list[str] = []
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
        linked keys (the leads stream then harvests them). A company-linked type is
        asked for too before its first refusal: Marketo's bulk export refuses such types,
        and one more column in the lead export is cheaper than a key-only export."""
        link = self.link
        if link is None or not link.lead_field:
            return ()
        if self.read_mode != LINKED_KEYS and link.parent.lower() == "lead":
            return ()
        return (link.lead_field,)

    def extra_fields(self) -> list[str]:
        # The link values the second-level types hanging off this one are read by.
        return [f for f in self.child_key_fields() if f not in self.export_fields()]

    def child_key_fields(self) -> list[str]:
        """Fields of this type whose values selected second-level streams read by."""
        out: list[str] = []
        for stream in self.tap.streams.values():
            if (
                isinstance(stream, CustomObjectStream)
                and stream is not self
                and stream.selected
                and stream.parent_stream == self.name
                and stream.link is not None
                and stream.link.parent_field not in out
            ):
                out.append(stream.link.parent_field)
        return out

    def on_row(self, row: dict[str, Any]) -> None:
        for name in self._harvest:
            value = row.get(name)
            if value not in (None, ""):
                self.run.object_keys.setdefault(self.key_slot(name), set()).add(str(value))

    def key_slot(self, field: str) -> str:
        """Where this run keeps this type's ``field`` values (``run.object_keys``)."""
        return f"{self.api_name}.{field}"

    def refused_ahead(self, exc: MarketoError) -> None:
        # A refusal to a job queued ahead is the one the stream's own turn would meet:
        # the switch to linked keys is made now, so Marketo is not asked twice.
        if isinstance(exc, MarketoAPIError) and self._reads_by_keys_instead(exc):
            self.stream_state[self.read_mode_key] = LINKED_KEYS
            self.stream_state["export_job"] = None
            self.save_state()

    def _reads_by_keys_instead(self, exc: MarketoAPIError) -> bool:
        """Whether a bulk refusal sends this type to REST reads by linked keys: a 1035
        for a type the tap can follow from leads, or any refusal of a create for a type
        not linked to leads (Marketo's bulk export serves lead-linked types only)."""
        link = self.link
        if link is None:
            return False
        if exc.code == UNSUPPORTED_FILTER and self.filter_field == "updatedAt":
            return link.lead_field is not None or self.parent_stream is not None
        return link.parent.lower() != "lead" and "create" in (exc.endpoint or "")

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

    def linked_whole_read_due(self) -> bool:
        """Whether this run reads a lead- or company-linked type by every lead's keys:
        it reads by linked keys and ``custom_object_rescan_interval_days`` have passed
        since the last whole read (or there was none). Never in a dry run (``--test``):
        a capped read must not retire any row. The whole read starts its own table
        version in read_linked, not in table_version: the switch to linked keys is made
        mid-run, after get_records asked for the version."""
        if self.read_mode != LINKED_KEYS or self.parent_stream is not None:
            return False
        if self.link is None or self.ABORT_AT_RECORD_COUNT is not None:
            return False
        return self.whole_read_due("custom_object_rescan_interval_days")

    def sync_records(self) -> None:
        self._harvest = self.child_key_fields()
        if self.read_mode != LINKED_KEYS:
            try:
                super().sync_records()
                return
            except MarketoAPIError as exc:
                if not self._reads_by_keys_instead(exc):
                    if exc.code == UNSUPPORTED_FILTER and self.filter_field == "updatedAt":
                        raise MarketoAPIError(
                            f"{exc.message}; and the type's link to its parent is unknown, "
                            "so its records cannot be read by linked keys instead",
                            code=exc.code,
                            endpoint=exc.endpoint,
                        ) from exc
                    raise
                # Detected once; state keeps the mode so later runs do not ask again.
                self.logger.warning(
                    "'%s': Marketo refused its bulk export (%s); reading it over REST by "
                    "linked keys from now on",
                    self.name,
                    exc,
                )
                self.stream_state[self.read_mode_key] = LINKED_KEYS
                self.stream_state["export_job"] = None
                self.save_state()
        self.read_linked()

    def _linked_keys(self, link: s.ObjectLink, *, whole: bool = False) -> set[str] | None:
        """The parent keys this run reaches (``whole``: every lead's), or None when the
        parents cannot be reached (said once, in the log)."""
        parent = self.parent_stream
        if parent is not None:
            stream = self.tap.streams.get(parent)
            if stream is None or not stream.selected:
                self.logger.warning(
                    "'%s': its records hang off '%s' records (%s.%s) and are read by the "
                    "%s values of those read this run, but stream '%s' is not selected: "
                    "NOTHING of '%s' can be read. Select '%s' too.",
                    self.name, link.parent, link.parent, link.parent_field,
                    link.parent_field, parent, self.name, parent,
                )  # fmt: skip
                return None
            return set(self.run.object_keys.get(f"{link.parent}.{link.parent_field}", set()))
        assert link.lead_field is not None, self.name
        keys = lead_keys(self, link.lead_field, whole=whole)
        if link.parent.lower() == "company":
            keys |= self.run.object_keys.get(link.parent_field, set())
        return keys

    def read_linked(self) -> None:
        link = self.link
        assert link is not None, self.name
        whole = self.linked_whole_read_due()
        self._log_linked_read(link, whole=whole)
        keys = self._linked_keys(link, whole=whole)
        if keys is None:
            return  # not reachable: the bookmark stays where it was
        version = self.start_whole_read() if whole else None
        writer = RecordWriter(self, text_input=False)
        fields = [n for n in self.selected_properties() if not n.startswith("_sdc_")]
        asked = fields + [f for f in self._harvest if f not in fields]
        path = f"/rest/v1/customobjects/{self.api_name}.json"
        for batch in chunked(sorted(k for k in keys if k), MAX_KEYS):
            for record in self.client.iter_results(
                path,
                {
                    "filterType": link.field,
                    "filterValues": batch,
                    "fields": asked,
                    "batchSize": MAX_KEYS,
                },
            ):
                self.on_row(record)
                writer.write(record)
        self.log_written(writer, f" ({'whole ' if whole else ''}read by {len(keys)} linked keys)")
        extra = self.whole_read_state(version, activate=True) if whole else {}
        self.commit_bookmark(self.run.now, export_job=None, **extra)

    def _log_linked_read(self, link: s.ObjectLink, *, whole: bool) -> None:
        parent = "lead ids" if link.parent.lower() == "lead" else f"{link.parent_field} values"
        if link.parent.lower() == "lead":
            why = (
                "this Marketo subscription refuses the bulk updatedAt filter for custom "
                "objects (1035)"
            )
        else:
            why = (
                f"it is linked to {link.parent}, not to leads, and Marketo's bulk export "
                "serves only custom objects linked directly to leads"
            )
        rescan = "custom_object_rescan_interval_days"
        if whole:
            how = (
                f"reading it whole by the {parent} of every lead, 300 per call, as a new table "
                "version (ACTIVATE_VERSION drops what Marketo deleted); next whole read in "
                f"{setting(self.config, rescan)} days ({rescan})"
            )
        else:
            until = (
                "are missed until it does"
                if self.parent_stream is not None
                else f"wait for the next whole read ({rescan})"
            )
            how = (
                f"reading its records by the {parent} seen this run instead, 300 per call. "
                f"Records changed while their {link.parent.lower()} did not {until}"
            )
        self.logger.warning("'%s': %s; %s.", self.name, why, how)
