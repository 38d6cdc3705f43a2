"""Email templates and landing page templates (asset API browse).

Both are versioned like emails: a template with unapproved edits is listed twice, once
per ``status``, so rows are keyed by ``(id, status)``. Neither browse takes an
``updatedAt`` range, so both are read whole every run (one call per 200 templates) and
end with ACTIVATE_VERSION: a loader honouring it drops a deleted template, or the draft
an approval replaced.
"""

from __future__ import annotations

from typing import Any

from tap_marketo_crm import schemas as s
from tap_marketo_crm.streams.assets import AssetStream
from tap_marketo_crm.streams.base import MarketoStream


def template_properties(**extra: dict[str, Any]) -> dict[str, Any]:
    """A versioned asset's fields: which version the row is, and its folder reference."""
    return s.asset_properties(status={"type": ["string"]}, folder=s.FOLDER_REF, **extra)


class EmailTemplatesStream(AssetStream):
    name = "email_templates"
    path = "/rest/asset/v1/emailTemplates.json"

    @classmethod
    def fixed_schema(cls) -> dict[str, Any]:
        # version: 1 for a classic template, 2 for an Email Editor 2.0 one.
        return s.object_schema(template_properties(version=s.INTEGER))


class LandingPageTemplatesStream(AssetStream):
    name = "landing_page_templates"
    path = "/rest/asset/v1/landingPageTemplates.json"

    @classmethod
    def fixed_schema(cls) -> dict[str, Any]:
        return s.object_schema(
            template_properties(templateType=s.STRING, enableMunchkin=s.BOOLEAN)
        )


TEMPLATE_STREAMS: tuple[type[MarketoStream], ...] = (
    EmailTemplatesStream,
    LandingPageTemplatesStream,
)
