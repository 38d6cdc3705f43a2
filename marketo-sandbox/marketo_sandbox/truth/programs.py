"""Ground truth of programs and program members."""

from __future__ import annotations

import json
from typing import Any

from marketo_sandbox.domain.programs import LIVE_LEAD, programs, render_program
from marketo_sandbox.model.objects import (
    PROGRAM_MEMBER_FIELDS,
    render_program_member,
)
from marketo_sandbox.store import Store
from marketo_sandbox.truth import ground_truth


@ground_truth("programs")
def _programs_truth(store: Store) -> Any:
    for prog in programs(store):
        yield render_program(prog, full=True)


@ground_truth("program_members")
def _members_truth(store: Store) -> Any:
    all_fields = [f["name"] for f in PROGRAM_MEMBER_FIELDS]
    for row in store.iterate(
        f"SELECT data FROM program_members pm WHERE {LIVE_LEAD} ORDER BY pm.programId, pm.leadId"  # noqa: S608
    ):
        yield render_program_member(json.loads(row["data"]), all_fields)
