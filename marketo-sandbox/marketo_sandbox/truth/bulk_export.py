"""Ground truth of bulk export jobs."""

from __future__ import annotations

from typing import Any

from marketo_sandbox.bulk import exports
from marketo_sandbox.bulk.exports import public
from marketo_sandbox.store import Store
from marketo_sandbox.truth import ground_truth


@ground_truth("export_jobs")
def _export_jobs(store: Store) -> Any:
    for job in store.docs(exports.DOC_KIND):
        spec = job.get("spec") or {}
        yield {
            **public(job),
            "entity": job["entity"],
            "fields": spec.get("fields"),
            "filter": spec.get("filter"),
            "columnHeaderNames": spec.get("columnHeaderNames"),
            "fileGone": bool(job.get("fileGone")),
        }
