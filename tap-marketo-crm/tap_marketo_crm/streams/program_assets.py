"""What programs carry beyond their browse row: tags, period costs and My Tokens; and
the tag types tags are drawn from.

Tags and costs come only from Get Program by Id (the browse omits them), one call per
program; ``program_tags`` and ``program_costs`` share those calls within a run. My Tokens
come from Get Tokens by Folder Id, one call per program and per Marketing Activities
folder (tokens defined on a folder apply to what it holds; each holder answers only its
own). None of these reads takes a date filter, so each stream is read whole every run
and ends with ACTIVATE_VERSION: a removed tag, cost or token, or a deleted program's,
leaves the table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from tap_marketo_crm import schemas as s
from tap_marketo_crm.streams.asset_reads import results_if_present
from tap_marketo_crm.streams.assets import FoldersStream
from tap_marketo_crm.streams.base import MarketoStream
from tap_marketo_crm.streams.programs import all_program_ids

# The root of the asset folders, whose paths read "/Design Studio/...".
DESIGN_STUDIO = "/Design Studio"


def program_records(stream: MarketoStream) -> dict[int, dict[str, Any]]:
    """Every program as Get Program by Id answers it (tags and costs included), read once
    per run for both streams that need them."""
    if stream.run.program_records is None:
        records = {}
        for program_id in all_program_ids(stream):
            found = results_if_present(stream, f"/rest/asset/v1/program/{program_id}.json")
            if found:
                records[program_id] = found[0]
        stream.run.program_records = records
    return stream.run.program_records


class _ProgramDetailStream(MarketoStream):
    reads_whole_table = True
    selected_by_default = False
    # A first sync's programs browse lists every program id: reuse it.
    depends_on: ClassVar[tuple[str, ...]] = ("programs",)


class ProgramTagsStream(_ProgramDetailStream):
    """One row per program and tag type (a program holds one value per tag type)."""

    name = "program_tags"
    primary_keys_default = ("programId", "tagType")

    @classmethod
    def fixed_schema(cls) -> dict[str, Any]:
        return s.object_schema(
            {"programId": {"type": ["integer"]}, "tagType": {"type": ["string"]},
             "tagValue": s.STRING}
        )

    def sync_records(self) -> None:
        self.write_all(
            {"programId": pid, **tag}
            for pid, record in program_records(self).items()
            for tag in record.get("tags") or []
        )


class ProgramCostsStream(_ProgramDetailStream):
    """One row per period cost, keyed by the program and its place in the program's list
    (two costs may share a start date)."""

    name = "program_costs"
    primary_keys_default = ("programId", "index")

    @classmethod
    def fixed_schema(cls) -> dict[str, Any]:
        return s.object_schema(
            {
                "programId": {"type": ["integer"]},
                "index": {"type": ["integer"]},
                "startDate": s.DATETIME,
                "cost": s.INTEGER,
                "note": s.STRING,
            }
        )

    def sync_records(self) -> None:
        self.write_all(
            {"programId": pid, "index": index, **cost}
            for pid, record in program_records(self).items()
            for index, cost in enumerate(record.get("costs") or [])
        )


class ProgramTokensStream(_ProgramDetailStream):
    """My Tokens, one row per token and holder (``folderType`` Program or Folder)."""

    name = "program_tokens"
    primary_keys_default = ("folderType", "folderId", "name")
    depends_on = ("programs", "folders")

    @classmethod
    def fixed_schema(cls) -> dict[str, Any]:
        return s.object_schema(
            {
                "folderType": {"type": ["string"]},
                "folderId": {"type": ["integer"]},
                "name": {"type": ["string"]},
                "type": s.STRING,
                "value": s.STRING,
                "computedUrl": s.STRING,
            }
        )

    def _holders(self) -> Iterator[tuple[str, int]]:
        for program_id in all_program_ids(self):
            yield "Program", program_id
        # Tokens can sit on a folder at any depth: the folder tree as the folders stream reads it.
        for folder in self.run.whole_browse(FoldersStream.path, FoldersStream.params):
            # My Tokens live on Marketing Activities folders (typed Marketing Folder; programs
            # were asked for above). Design Studio holds none, though its root and some of
            # its folders carry the same type.
            in_design_studio = str(folder.get("path") or "").startswith(DESIGN_STUDIO)
            if folder.get("folderType") == "Marketing Folder" and not in_design_studio:
                yield "Folder", int(folder["id"])

    def _tokens(self) -> Iterator[dict[str, Any]]:
        for holder, holder_id in self._holders():
            path = f"/rest/asset/v1/folder/{holder_id}/tokens.json"
            for answer in results_if_present(self, path, {"folderType": holder}):
                for token in answer.get("tokens") or []:
                    yield {"folderType": holder, "folderId": holder_id, **token}

    def sync_records(self) -> None:
        self.write_all(self._tokens())


class TagTypesStream(MarketoStream):
    """The tag types programs can carry, with the program types each applies to."""

    name = "tag_types"
    primary_keys_default = ("tagType",)
    reads_whole_table = True
    selected_by_default = False

    @classmethod
    def fixed_schema(cls) -> dict[str, Any]:
        return s.object_schema(
            {
                "tagType": {"type": ["string"]},
                "applicableProgramTypes": s.STRING,
                "required": s.BOOLEAN,
            }
        )

    def sync_records(self) -> None:
        self.write_all(self.client.browse_assets("/rest/asset/v1/tagTypes.json"))


PROGRAM_ASSET_STREAMS: tuple[type[MarketoStream], ...] = (
    ProgramTagsStream,
    ProgramCostsStream,
    ProgramTokensStream,
    TagTypesStream,
)
