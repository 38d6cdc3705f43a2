"""Smart lists (asset API browse), incremental by ``earliestUpdatedAt``/``latestUpdatedAt``.

Only user-made smart lists are listed (Marketo's built-in ones are not assets). A smart
list has no versions; its folder reference is ``{id, type}`` (a program or a folder),
unlike the design assets' ``{type, value, folderName}``.

Marketo logs no smart list deletes (docs/MARKETO.md section 4): at most once per
``delete_scan_interval_hours`` the stream browses every smart list instead of the range,
writes those changed since the bookmark, and emits each smart list gone since the last
scan with ``_sdc_deleted_at`` (``deletes``).
"""

from __future__ import annotations

from typing import Any

from tap_marketo_crm import deletes
from tap_marketo_crm import schemas as s
from tap_marketo_crm.streams.base import MarketoStream

# Where a smart list, a static list or a file sits: {"id": .., "type": "Folder"|"Program"}.
FOLDER_ID_REF = {
    "type": ["object", "null"],
    "properties": {"id": s.INTEGER, "type": s.STRING},
}


class SmartListsStream(MarketoStream):
    name = "smart_lists"
    primary_keys_default = ("id",)
    replication_key_default = "updatedAt"
    selected_by_default = False
    depends_on = ("folders",)
    path = "/rest/asset/v1/smartLists.json"

    @classmethod
    def fixed_schema(cls) -> dict[str, Any]:
        return s.object_schema(
            s.asset_properties(folder=FOLDER_ID_REF, **{s.SDC_DELETED_AT: s.DATETIME})
        )

    def sync_records(self) -> None:
        deletes.browse_capturing_deletes(self, self.path, "smart lists")


SMART_LIST_STREAMS: tuple[type[MarketoStream], ...] = (SmartListsStream,)
