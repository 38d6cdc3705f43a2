"""The fields of every form version (asset API, Get Form Fields, one call per version).

Fields belong to a form version: a draft can add or drop fields, so they are read for
each ``(form, status)`` the form browse lists and keyed ``(formId, status, id)``, where
``id`` is the field's name (``Email``, ``FirstName``...). Get Form Fields answers a
version's fields unpaged. Read whole every run, ending with ACTIVATE_VERSION: a field
taken off a form, or a deleted form's fields, leave the table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tap_marketo_crm import schemas as s
from tap_marketo_crm.streams.asset_reads import results_if_present
from tap_marketo_crm.streams.assets import FormsStream
from tap_marketo_crm.streams.base import MarketoStream


class FormFieldsStream(MarketoStream):
    name = "form_fields"
    primary_keys_default = ("formId", "status", "id")
    reads_whole_table = True
    selected_by_default = False

    @classmethod
    def fixed_schema(cls) -> dict[str, Any]:
        return s.object_schema(
            {
                "formId": {"type": ["integer"]},
                "status": {"type": ["string"]},
                "id": {"type": ["string"]},
                "label": s.STRING,
                "dataType": s.STRING,
                "defaultValue": s.STRING,
                "required": s.BOOLEAN,
                "formPrefill": s.BOOLEAN,
                "isSensitive": s.BOOLEAN,
                "rowNumber": s.INTEGER,
                "columnNumber": s.INTEGER,
                "fieldWidth": s.INTEGER,
                "labelWidth": s.INTEGER,
                "maxLength": s.INTEGER,
                "blankFields": s.INTEGER,
                "hintText": s.STRING,
                "instructions": s.STRING,
                "text": s.STRING,
                # Picklist values, visibility rules and a fieldset's own fields: nested
                # as Marketo sends them.
                "fieldMetaData": s.OBJECT,
                "visibilityRules": s.OBJECT,
                "fields": {"type": ["array", "null"], "items": s.OBJECT},
            }
        )

    def _fields(self) -> Iterator[dict[str, Any]]:
        for form in self.run.whole_browse(FormsStream.path, FormsStream.params):
            form_id, status = int(form["id"]), form["status"]
            path = f"/rest/asset/v1/form/{form_id}/fields.json"
            for field in results_if_present(self, path, {"status": status}):
                yield {"formId": form_id, "status": status, **field}

    def sync_records(self) -> None:
        self.write_all(self._fields())


FORM_FIELD_STREAMS: tuple[type[MarketoStream], ...] = (FormFieldsStream,)
