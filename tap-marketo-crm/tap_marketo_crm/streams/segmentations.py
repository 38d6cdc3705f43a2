"""Segmentations and their segments (asset API).

A segmentation is versioned (approved and draft, keyed ``(id, status)``), and so are its
segments: a draft can add a segment its approved version lacks, so segments are read per
segmentation version and keyed ``(id, status)`` too. Both are read whole every run and
end with ACTIVATE_VERSION.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tap_marketo_crm import schemas as s
from tap_marketo_crm.streams.base import MarketoStream
from tap_marketo_crm.streams.templates import template_properties

SEGMENTATIONS_PATH = "/rest/asset/v1/segmentation.json"


def segmentations(stream: MarketoStream) -> list[dict[str, Any]]:
    """Every segmentation version. Adobe's spec gives Get Segmentations no paging
    parameters, yet every other browse answers 20 unless told otherwise: asking with
    ``offset``/``maxReturn`` costs nothing and cannot truncate the list
    (docs/MARKETO.md section 4)."""
    return stream.run.whole_browse(SEGMENTATIONS_PATH)


class SegmentationsStream(MarketoStream):
    name = "segmentations"
    primary_keys_default = ("id", "status")
    reads_whole_table = True
    selected_by_default = False

    @classmethod
    def fixed_schema(cls) -> dict[str, Any]:
        return s.object_schema(template_properties())

    def sync_records(self) -> None:
        self.write_all(segmentations(self))


class SegmentsStream(MarketoStream):
    name = "segments"
    primary_keys_default = ("id", "status")
    reads_whole_table = True
    selected_by_default = False

    @classmethod
    def fixed_schema(cls) -> dict[str, Any]:
        properties = s.asset_properties(
            segmentationId={"type": ["integer"]}, status={"type": ["string"]}
        )
        del properties["workspace"]  # a segment's workspace is its segmentation's
        return s.object_schema(properties)

    def _segments(self) -> Iterator[dict[str, Any]]:
        for seg in segmentations(self):
            path = f"/rest/asset/v1/segmentation/{int(seg['id'])}/segments.json"
            for segment in self.client.browse_assets(path, {"status": seg["status"]}):
                # The version asked for, whether or not Marketo repeats it on the segment.
                yield {"segmentationId": seg["id"], **segment, "status": seg["status"]}

    def sync_records(self) -> None:
        self.write_all(self._segments())


SEGMENTATION_STREAMS: tuple[type[MarketoStream], ...] = (SegmentationsStream, SegmentsStream)
