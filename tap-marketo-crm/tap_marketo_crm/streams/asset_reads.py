"""By-id asset reads made after a browse listed the asset (a program's record, a form
version's fields, a holder's tokens): the asset may be deleted in between, which Marketo
answers with 702 ("no such asset"). That asset is then skipped, not the run failed: the
next whole-table read no longer lists it."""

from __future__ import annotations

from typing import Any

from marketo_core.errors import MarketoError

from tap_marketo_crm.streams.base import MarketoStream

NOT_FOUND = "702"


def results_if_present(
    stream: MarketoStream, path: str, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The ``result`` of one read, or nothing when the asset is gone (702)."""
    try:
        return list(stream.client.get(path, params).get("result") or [])
    except MarketoError as exc:
        if exc.code == NOT_FOUND:
            stream.logger.info("'%s': %s is gone (702); skipped", stream.name, path)
            return []
        raise
