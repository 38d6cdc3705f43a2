"""Design assets by asset API browse: emails, forms, landing pages, snippets, folders.

An email, form, landing page or snippet can have two versions at once, the approved one
(live) and a draft (unapproved edits); a browse without ``status`` lists both, one row
each with the same ``id``. Rows are keyed by ``(id, status)``: ``status`` says which
version a row is. Only the email browse takes an ``updatedAt`` range, so emails are
incremental; the others are read whole on every run (a few calls: 200 per call) and
carry the table version, so a loader honouring ACTIVATE_VERSION drops what Marketo no
longer lists (a deleted asset, or the draft an approval replaced).

These streams are not selected by default: the catalog selects what a quiet incremental
run needs to stay within its call budget, and the whole-table reads would add a call
per stream per run. Select them in the catalog (``meltano select tap-marketo-crm
emails``) to extract them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tap_marketo_crm import deletes
from tap_marketo_crm import schemas as s
from tap_marketo_crm.streams.base import MarketoStream

# The versions an asset can have at once (its ``status``).
VERSIONS = ("approved", "draft")

# Marketo's folder browse stops at depth 2 unless told otherwise; instance trees are
# rarely deeper than a handful of levels.
FOLDER_MAX_DEPTH = 50

_TEXT_FIELD = {
    "type": ["object", "null"],
    "properties": {"type": s.STRING, "value": s.STRING},
}
_FOLDER_ID = {
    "type": ["object", "null"],
    "properties": {"id": s.INTEGER, "type": s.STRING},
}


def _versioned_properties(**extra: dict[str, Any]) -> dict[str, Any]:
    return s.asset_properties(
        status={"type": ["string"]}, folder=s.FOLDER_REF, **extra
    )


class AssetStream(MarketoStream):
    """An asset browse read whole every run (the endpoint takes no date filter)."""

    primary_keys_default: tuple[str, ...] = ("id", "status")
    reads_whole_table = True
    selected_by_default = False
    # Assets sit in folders.
    depends_on: ClassVar[tuple[str, ...]] = ("folders",)
    path: ClassVar[str]
    params: ClassVar[dict[str, Any]] = {}

    def sync_records(self) -> None:
        self.write_all(self.run.whole_browse(self.path, self.params))


class EmailsStream(MarketoStream):
    """Emails, both versions; incremental by ``earliestUpdatedAt``/``latestUpdatedAt``.

    Marketo logs no asset deletes: at most once per ``delete_scan_interval_hours`` the
    stream browses every email instead, writes the versions changed since the bookmark,
    and emits each ``(id, status)`` gone since the last scan (a deleted email, or the
    draft an approval replaced) with ``_sdc_deleted_at`` (``deletes``)."""

    name = "emails"
    primary_keys_default = ("id", "status")
    replication_key_default = "updatedAt"
    selected_by_default = False
    depends_on = ("folders",)
    path = "/rest/asset/v1/emails.json"

    @classmethod
    def fixed_schema(cls) -> dict[str, Any]:
        return s.object_schema(
            _versioned_properties(
                subject=_TEXT_FIELD,
                fromName=_TEXT_FIELD,
                fromEmail=_TEXT_FIELD,
                replyEmail=_TEXT_FIELD,
                operational=s.BOOLEAN,
                textOnly=s.BOOLEAN,
                publishToMSI=s.BOOLEAN,
                webView=s.BOOLEAN,
                template=s.INTEGER,
                isOpenTrackingDisabled=s.BOOLEAN,
                version=s.INTEGER,
                autoCopyToText=s.BOOLEAN,
                preHeader=s.STRING,
                **{s.SDC_DELETED_AT: s.DATETIME},
            )
        )

    def sync_records(self) -> None:
        deletes.browse_capturing_deletes(self, self.path, "emails", ("status", VERSIONS))


class FormsStream(AssetStream):
    name = "forms"
    path = "/rest/asset/v1/forms.json"

    @classmethod
    def fixed_schema(cls) -> dict[str, Any]:
        thank_you = {
            "type": ["object", "null"],
            "properties": {
                "default": s.BOOLEAN,
                "followupType": s.STRING,
                "followupValue": s.STRING,
                "operator": s.STRING,
                "subjectField": s.STRING,
                "values": {"type": ["array", "null"], "items": s.STRING},
            },
        }
        return s.object_schema(
            _versioned_properties(
                theme=s.STRING,
                language=s.STRING,
                locale=s.STRING,
                progressiveProfiling=s.BOOLEAN,
                labelPosition=s.STRING,
                fontFamily=s.STRING,
                fontSize=s.STRING,
                knownVisitor={
                    "type": ["object", "null"],
                    "properties": {"type": s.STRING, "template": s.STRING},
                },
                thankYouList={"type": ["array", "null"], "items": thank_you},
                buttonLocation=s.INTEGER,
                buttonLabel=s.STRING,
                waitingLabel=s.STRING,
            )
        )


class LandingPagesStream(AssetStream):
    name = "landing_pages"
    path = "/rest/asset/v1/landingPages.json"

    @classmethod
    def fixed_schema(cls) -> dict[str, Any]:
        properties = _versioned_properties(
            template=s.INTEGER,
            title=s.STRING,
            keywords=s.STRING,
            robots=s.STRING,
            customHeadHTML=s.STRING,
            facebookOgTags=s.STRING,
            formPrefill=s.BOOLEAN,
            mobileEnabled=s.BOOLEAN,
            URL=s.STRING,
            computedUrl=s.STRING,
        )
        # A landing page answers `URL` (its address), never the `url` other assets have:
        # both in one schema would be one column twice for SQL loaders that fold names
        # to lower case (target-duckdb, target-postgres).
        del properties["url"]
        return s.object_schema(properties)


class SnippetsStream(AssetStream):
    name = "snippets"
    path = "/rest/asset/v1/snippets.json"

    @classmethod
    def fixed_schema(cls) -> dict[str, Any]:
        return s.object_schema(_versioned_properties())


class FoldersStream(AssetStream):
    """Folders (no versions): the whole tree, from the workspace roots down."""

    name = "folders"
    primary_keys_default = ("id",)
    depends_on = ()
    path = "/rest/asset/v1/folders.json"
    params: ClassVar[dict[str, Any]] = {"maxDepth": FOLDER_MAX_DEPTH}

    @classmethod
    def fixed_schema(cls) -> dict[str, Any]:
        return s.object_schema(
            s.asset_properties(
                folderId=_FOLDER_ID,
                folderType=s.STRING,
                parent=_FOLDER_ID,
                path=s.STRING,
                isArchive=s.BOOLEAN,
                isSystem=s.BOOLEAN,
                accessZoneId=s.INTEGER,
            )
        )


ASSET_STREAMS: tuple[type[MarketoStream], ...] = (
    EmailsStream,
    FormsStream,
    LandingPagesStream,
    SnippetsStream,
    FoldersStream,
)
