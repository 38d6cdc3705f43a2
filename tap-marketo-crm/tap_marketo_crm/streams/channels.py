"""Channels with their progression statuses (asset API, Get Channels).

A channel is the template of a program's member statuses: its ``progressionStatuses``
name each step, its number and whether it counts as success. Channels are few and the
browse takes no date filter: read whole every run, ending with ACTIVATE_VERSION.
"""

from __future__ import annotations

from typing import Any

from tap_marketo_crm import schemas as s
from tap_marketo_crm.streams.base import MarketoStream

_PROGRESSION_STATUS = {
    "type": ["object", "null"],
    "properties": {
        "name": s.STRING,
        "step": s.INTEGER,
        "description": s.STRING,
        "hidden": s.BOOLEAN,
        "success": s.BOOLEAN,
        "type": s.STRING,
    },
}


class ChannelsStream(MarketoStream):
    name = "channels"
    primary_keys_default = ("id",)
    reads_whole_table = True
    selected_by_default = False
    path = "/rest/asset/v1/channels.json"

    @classmethod
    def fixed_schema(cls) -> dict[str, Any]:
        return s.object_schema(
            {
                "id": {"type": ["integer"]},
                "name": s.STRING,
                "applicableProgramType": s.STRING,
                "progressionStatuses": {"type": ["array", "null"], "items": _PROGRESSION_STATUS},
                "createdAt": s.DATETIME,
                "updatedAt": s.DATETIME,
            }
        )

    def sync_records(self) -> None:
        self.write_all(self.client.browse_assets(self.path))


CHANNEL_STREAMS: tuple[type[MarketoStream], ...] = (ChannelsStream,)
