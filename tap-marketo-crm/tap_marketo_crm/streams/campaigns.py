"""Smart campaigns: a full REST read (300 per call; Marketo's read has no date filter),
written when updated since the bookmark; a campaign gone since the last run is emitted
with ``_sdc_deleted_at`` (``deletes``: Marketo logs no campaign deletes)."""

from __future__ import annotations

from typing import Any

from tap_marketo_crm import schemas as s
from tap_marketo_crm.streams.base import MarketoStream


class CampaignsStream(MarketoStream):
    """Smart campaigns; Marketo's read has no date filter, so the stream reads them all
    (300 per call) and writes those updated since the bookmark."""

    name = "campaigns"
    primary_keys_default = ("id",)
    replication_key_default = "updatedAt"
    path = "/rest/v1/campaigns.json"
    # A campaign belongs to a program.
    depends_on = ("programs",)

    @classmethod
    def fixed_schema(cls) -> dict[str, Any]:
        return s.object_schema(
            {
                "id": {"type": ["integer"]},
                "name": s.STRING,
                "description": s.STRING,
                "type": s.STRING,
                "programName": s.STRING,
                "programId": s.INTEGER,
                "workspaceName": s.STRING,
                "createdAt": s.DATETIME,
                "updatedAt": s.DATETIME,
                "active": s.BOOLEAN,
                s.SDC_DELETED_AT: s.DATETIME,
            }
        )

    def sync_records(self) -> None:
        self.write_updated_since(self.path)
