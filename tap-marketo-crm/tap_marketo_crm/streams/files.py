"""Files in Design Studio (images, documents, style sheets) by asset API browse.

The browse takes no date filter, so files are read whole every run (200 per call) and
end with ACTIVATE_VERSION. A file's ``url`` is its public address; its folder reference
is ``{id, name, type}``.
"""

from __future__ import annotations

from typing import Any

from tap_marketo_crm import schemas as s
from tap_marketo_crm.streams.assets import AssetStream
from tap_marketo_crm.streams.base import MarketoStream


class FilesStream(AssetStream):
    name = "files"
    primary_keys_default = ("id",)
    path = "/rest/asset/v1/files.json"

    @classmethod
    def fixed_schema(cls) -> dict[str, Any]:
        folder = {
            "type": ["object", "null"],
            "properties": {"id": s.INTEGER, "name": s.STRING, "type": s.STRING},
        }
        properties = s.asset_properties(size=s.INTEGER, mimeType=s.STRING, folder=folder)
        del properties["workspace"]  # files answer none
        return s.object_schema(properties)


FILE_STREAMS: tuple[type[MarketoStream], ...] = (FilesStream,)
