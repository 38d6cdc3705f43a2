"""Seeded workspaces beyond Default: EMEA Marketing and APAC Marketing, each with its own
Marketing Activities tree holding one of the seeded programs, and APAC Marketing with a
Design Studio holding one form; the last static list is moved into the APAC program.

A program moves with everything it holds: its local emails and smart lists, its My
Tokens (they follow the program), the static lists and smart campaigns inside it. The
choice is derived from what is seeded (the last two programs, the last form) and draws
nothing, so every other seeded value stays what it was.
"""

from __future__ import annotations

import random
from typing import Any

from marketo_sandbox.domain.assets import KIND_EMAILS, KIND_FOLDERS, KIND_FORMS, put_asset
from marketo_sandbox.domain.marketing_assets import KIND_SMART_LISTS
from marketo_sandbox.domain.workspaces import APAC_WORKSPACE, EMEA_WORKSPACE
from marketo_sandbox.model.shared import KIND_CAMPAIGNS, KIND_LISTS, KIND_PROGRAMS
from marketo_sandbox.seed import SeedSpec, seeder
from marketo_sandbox.store import Store

_BASE_URL = "https://app-sj01.marketo.com/#"
# Folder ids after the Default trees' (seed/data/assets.json, programs.json).
_TREES = {
    EMEA_WORKSPACE: {"root": 50, "programs": 51},
    APAC_WORKSPACE: {"root": 55, "programs": 56, "design": 57, "forms": 58},
}


def _folder(
    like: dict[str, Any], fid: int, name: str, parent: dict[str, Any] | None, workspace: str
) -> dict[str, Any]:
    """A folder shaped as the seeded folder ``like`` (its type, dates, flags)."""
    return like | {
        "id": fid,
        "name": name,
        "url": f"{_BASE_URL}MF{fid}A1",
        "folderId": {"id": fid, "type": "Folder"},
        "parent": {"id": parent["id"], "type": "Folder"} if parent else None,
        "path": f"{parent['path']}/{name}" if parent else f"/{name}",
        "workspace": workspace,
    }


def _trees(folders: dict[int, dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    # Shaped as Default's: its Marketing Activities and Design Studio roots, a program
    # folder under the one, the Forms folder under the other.
    marketing, design, programs, forms = (folders[i] for i in (15, 16, 31, 41))
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for workspace, ids in _TREES.items():
        short = workspace.split()[0]
        root = _folder(marketing, ids["root"], "Marketing Activities", None, workspace)
        tree = {
            "root": root,
            "programs": _folder(programs, ids["programs"], f"{short} Programs", root, workspace),
        }
        if "design" in ids:
            tree["design"] = _folder(design, ids["design"], "Design Studio", None, workspace)
            tree["forms"] = _folder(
                forms, ids["forms"], f"{short} Forms", tree["design"], workspace
            )
        out[workspace] = tree
    return out


def _move_program(store: Store, prog: dict[str, Any], workspace: str,
                  folder: dict[str, Any]) -> None:
    ref = {"type": "Folder", "value": folder["id"], "folderName": folder["name"]}
    store.object_put(KIND_PROGRAMS, prog["id"], {**prog, "workspace": workspace, "folder": ref})
    for email in list(store.objects(KIND_EMAILS)):
        where = email.get("folder") or {}
        if where.get("type") == "Program" and where.get("value") == prog["id"]:
            put_asset(store, KIND_EMAILS, {**email, "workspace": workspace})
    for smart_list in list(store.objects(KIND_SMART_LISTS)):
        where = smart_list.get("folder") or {}
        if where.get("type") == "Program" and where.get("id") == prog["id"]:
            store.object_put(KIND_SMART_LISTS, smart_list["id"],
                             {**smart_list, "workspace": workspace})
    for item in list(store.objects(KIND_LISTS)):
        if item.get("programName") == prog["name"]:
            store.object_put(KIND_LISTS, item["id"], {**item, "workspaceName": workspace})
    for item in list(store.objects(KIND_CAMPAIGNS)):
        if item.get("programId") == prog["id"]:
            store.object_put(KIND_CAMPAIGNS, item["id"], {**item, "workspaceName": workspace})


@seeder(47, "marketo_sandbox.seed.workspaces")
def seed_workspaces(store: Store, spec: SeedSpec, rng: random.Random, now: float) -> None:
    del rng, now  # derived from what is seeded: no draws (see the module docstring)
    programs = sorted(store.objects(KIND_PROGRAMS), key=lambda p: p["id"])
    if len(programs) < 3:
        return  # too small an instance to spare programs for other teams
    trees = _trees({int(f["id"]): f for f in store.objects(KIND_FOLDERS)})
    with store.transaction():
        for tree in trees.values():
            for folder in tree.values():
                put_asset(store, KIND_FOLDERS, folder)
        _move_program(store, programs[-2], EMEA_WORKSPACE, trees[EMEA_WORKSPACE]["programs"])
        _move_program(store, programs[-1], APAC_WORKSPACE, trees[APAC_WORKSPACE]["programs"])
        # A static list of the APAC program, so list reads have one to leave out.
        lists = sorted(store.objects(KIND_LISTS), key=lambda x: x["id"])
        if lists:
            apac = programs[-1]
            store.object_put(KIND_LISTS, lists[-1]["id"], {
                **lists[-1], "programName": apac["name"], "workspaceName": APAC_WORKSPACE
            })
        forms = sorted(store.objects(KIND_FORMS), key=lambda f: f["id"])
        last = forms[-1]["id"]
        forms_folder = trees[APAC_WORKSPACE]["forms"]
        ref = {"type": "Folder", "value": forms_folder["id"], "folderName": forms_folder["name"]}
        for form in forms:
            if form["id"] == last:
                put_asset(store, KIND_FORMS, {**form, "workspace": APAC_WORKSPACE, "folder": ref})
