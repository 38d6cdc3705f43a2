"""Workspaces: which assets the API user's role can read.

In a subscription with Workspaces and Partitions every asset (program, folder, email,
form, landing page, template, smart list, static list, smart campaign...) lives in one
workspace, and a role's permissions are granted per workspace: a role reads only the
assets of the workspaces it has (docs/MARKETO.md section 9). Under the ``partitions``
profile the API role has Default and EMEA Marketing, not APAC Marketing; otherwise it
has every workspace.

An asset's workspace is its ``workspace`` (``workspaceName`` on the lead-database
reads of static lists and campaigns); what has none follows what holds it: a segment its
segmentation, a form field its form, a My Token its program or folder. Files carry no
workspace in the API and live in the Design Studio of Default. Channels and tag types
belong to the subscription, not a workspace.

Every read the API user makes asks :func:`visible` / :func:`readable` here; ground truth
and the sandbox's own bookkeeping read the store whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from marketo_sandbox.config import SandboxConfig
from marketo_sandbox.profiles import PARTITIONS
from marketo_sandbox.store import Store

DEFAULT_WORKSPACE = "Default"
EMEA_WORKSPACE = "EMEA Marketing"
APAC_WORKSPACE = "APAC Marketing"

# The seeded workspaces and the lead partitions each reaches (Admin > Workspaces and
# Partitions); the partitions of a workspace the role has are the ones it reads leads
# of (domain.leads.API_ROLE_PARTITIONS agrees with this table).
WORKSPACES: dict[str, tuple[str, ...]] = {
    DEFAULT_WORKSPACE: ("Default",),
    EMEA_WORKSPACE: ("EMEA",),
    APAC_WORKSPACE: ("APAC",),
}

# The workspaces the API role has under the `partitions` profile.
API_ROLE_WORKSPACES = (DEFAULT_WORKSPACE, EMEA_WORKSPACE)

# Kinds known by an id whose workspace is on the record itself.
_OWN_WORKSPACE = ("workspace", "workspaceName")
# Kinds that are the subscription's, in no workspace.
_GLOBAL_KINDS = ("channels", "tag_types")


def hidden_workspaces(config: SandboxConfig) -> frozenset[str]:
    """The workspaces whose assets the API user cannot read (none on a default instance)."""
    if not config.has_profile(PARTITIONS):
        return frozenset()
    return frozenset(WORKSPACES) - frozenset(API_ROLE_WORKSPACES)


def workspace_of(store: Store, kind: str, item: dict[str, Any]) -> str | None:
    """The workspace ``item`` (an object of ``kind``, as stored) lives in; None for what
    belongs to the subscription as a whole."""
    if kind in _GLOBAL_KINDS:
        return None
    for name in _OWN_WORKSPACE:
        if item.get(name):
            return str(item[name])
    holder = _holder(store, kind, item)
    if holder is not None:
        return workspace_of(store, holder[0], holder[1])
    return DEFAULT_WORKSPACE


def _holder(store: Store, kind: str, item: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The object that holds ``item`` when ``item`` carries no workspace of its own."""
    found: dict[str, Any] | None = None
    holder_kind = ""
    if kind == "segments":
        holder_kind = "segmentations"
        found = _any_version(store, holder_kind, item["segmentationId"])
    elif kind == "form_fields":
        holder_kind = "forms"
        found = _any_version(store, holder_kind, item["formId"])
    elif kind == "program_tokens":
        holder_kind = "programs" if item["folderType"] == "Program" else "folders"
        found = store.object_get(holder_kind, item["folderId"])
    return (holder_kind, found) if found is not None else None


def _any_version(store: Store, kind: str, asset_id: Any) -> dict[str, Any] | None:
    # Both versions of an asset share its folder, so either tells the workspace.
    for status in ("approved", "draft"):
        found = store.object_get(kind, f"{asset_id}:{status}")
        if found is not None:
            return found
    return None


def readable(config: SandboxConfig, store: Store, kind: str, item: dict[str, Any]) -> bool:
    """Whether the API user's role reads ``item``."""
    hidden = hidden_workspaces(config)
    return not hidden or workspace_of(store, kind, item) not in hidden


def in_reach(
    config: SandboxConfig, store: Store, kind: str, item: dict[str, Any] | None
) -> dict[str, Any] | None:
    """``item`` when the API user's role reads it; None when it does not exist or lies
    out of the role's workspaces (a read by id answers both alike)."""
    return item if item is not None and readable(config, store, kind, item) else None


def visible(
    config: SandboxConfig, store: Store, kind: str, items: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The ``items`` the API user's role reads, in their order. An asset out of its reach
    is absent from browses and answers by id as an asset that does not exist: Adobe
    documents no distinct error for it."""
    hidden = hidden_workspaces(config)
    if not hidden:
        return list(items)
    return [item for item in items if workspace_of(store, kind, item) not in hidden]
