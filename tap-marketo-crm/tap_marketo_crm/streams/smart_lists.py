"""Smart lists (asset API browse), incremental by ``earliestUpdatedAt``/``latestUpdatedAt``.

Only user-made smart lists are listed (Marketo's built-in ones are not assets). A smart
list has no versions; its folder reference is ``{id, type}`` (a program or a folder),
unlike the design assets' ``{type, value, folderName}``.
"""

from __future__ import annotations

from typing import Any

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
        return s.object_schema(s.asset_properties(folder=FOLDER_ID_REF))

    def sync_records(self) -> None:
        self.write_all(self.client.browse_assets(self.path, self.updated_range()))
        self.commit_bookmark(self.run.now)


SMART_LIST_STREAMS: tuple[type[MarketoStream], ...] = (SmartListsStream,)
