"""Seeded programs across channels and their members, with progression statuses."""

from __future__ import annotations

import random
from typing import Any

from marketo_sandbox.domain.objects import (
    bulk_log_activities,
)
from marketo_sandbox.domain.programs import (
    API_REASON,
    nurture_activity,
    program_channel,
    status_change_activity,
)
from marketo_sandbox.model.objects import (
    NOT_IN_PROGRAM,
    NURTURE_CADENCES,
    NURTURE_TRACKS,
    PROGRAM_TYPES,
    Channel,
)
from marketo_sandbox.model.shared import KIND_PROGRAMS
from marketo_sandbox.seed import SeedSpec, seeder, tables
from marketo_sandbox.store import Store, dumps
from marketo_sandbox.timestamps import format_ts, to_epoch

_TABLES = tables("programs")
_TOPICS = _TABLES["topics"]
_FOLDERS = _TABLES["folders_by_program_type"]


# The seed's first programs, in order: every type early, then mostly default and email
# programs, as in real instances; later ones are drawn from the same mix.
_TYPE_ORDER = (
    "Default", "Email", "Event with Webinar", "Engagement", "Event", "Default", "Email",
    "Event with Webinar", "Default", "Email", "Default",
)


_URL_PREFIX = {"Email": "EBP", "Engagement": "NP"}


def _program_status(rng: random.Random, ptype: str) -> str:
    if ptype == "Email":
        return rng.choice(("unlocked", "locked"))
    if ptype == "Engagement":
        return rng.choice(("on", "on", "off"))
    return ""


def _seed_programs(
    store: Store, spec: SeedSpec, rng: random.Random, now: float
) -> list[dict[str, Any]]:
    start = now - spec.months * 30 * 86400
    store.set_sequence_floor("program", 1000)  # Marketo asset ids start at 1001
    first_id = store.next_id("program", max(spec.programs, 1))
    out = []
    for i in range(spec.programs):
        ptype = _TYPE_ORDER[i] if i < len(_TYPE_ORDER) else rng.choice(_TYPE_ORDER)
        chan = rng.choice(PROGRAM_TYPES[ptype])
        created = rng.uniform(start, now - 86400)
        updated = created if rng.random() < 0.3 else rng.uniform(created, now - 60)
        pid = first_id + i
        folder_id, folder_name = _FOLDERS[ptype]
        created_ts = format_ts(created)
        prog: dict[str, Any] = {
            "id": pid,
            "name": f"{created_ts[:7]} {chan} - {rng.choice(_TOPICS)} {i + 1}",
            "description": "" if rng.random() < 0.5 else f"{ptype}: {rng.choice(_TOPICS)}",
            "createdAt": created_ts,
            "updatedAt": format_ts(updated),
            "url": f"https://app-sj01.marketo.com/#{_URL_PREFIX.get(ptype, 'PG')}{pid}A1",
            "type": ptype,
            "channel": chan,
            "folder": {"type": "Folder", "value": folder_id, "folderName": folder_name},
            "status": _program_status(rng, ptype),
            "workspace": "Default",
            "headStart": False,
            "tags": [{"tagType": "Region", "tagValue": rng.choice(("NA", "EMEA", "APAC"))}],
            "costs": None if rng.random() < 0.5 else [
                {"startDate": created_ts[:8] + "01T00:00:00Z+0000",
                 "cost": rng.randrange(1, 100) * 100, "note": ""}
            ],
        }
        out.append(prog)
    return out


def _member_status(rng: random.Random, chan: Channel) -> str:
    statuses = [s for s in chan.statuses if s.step > 0]
    # Most members stall early in a progression.
    weights = [max(1, len(statuses) - i) for i in range(len(statuses))]
    return rng.choices(statuses, weights=weights)[0].name


def _custom_member_values(
    rng: random.Random, chan: Channel, status: str, pid: int
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if chan.name == "Webinar":
        out["webinarUrl"] = f"https://webinars.example.com/{pid}/join/{rng.randrange(10**8):08d}"
        out["registrationCode"] = f"REG-{rng.randrange(10**6):06d}"
        if status.startswith("Attended"):
            out["pollResponse"] = rng.choice(("Very useful", "Useful", "Neutral", "Not useful"))
            out["questionsAsked"] = rng.randint(0, 4)
    elif chan.name == "Tradeshow":
        out["boothVisited"] = status in ("Visited Booth", "Engaged")
    return out


@seeder(40, "marketo_sandbox.api.programs.seed_programs_and_members")
def seed_programs_and_members(store: Store, spec: SeedSpec, rng: random.Random, now: float) -> None:
    progs = _seed_programs(store, spec, rng, now)
    leads = [
        (int(r["id"]), r["createdAt"])
        for r in store.iterate("SELECT id, createdAt FROM leads ORDER BY id")
    ]
    members: list[tuple[int, int, str, str]] = []
    activities: list[dict[str, Any]] = []
    count = 0
    plans: list[tuple[dict[str, Any], list[tuple[int, str]]]] = []
    for prog in progs:
        share = rng.uniform(0.01, 0.04)
        size = min(len(leads), int(len(leads) * share))
        plans.append((prog, rng.sample(leads, size) if size else []))
        count += size
    first_member = store.next_id("program_member", max(count, 1))
    n = 0
    now_ts = format_ts(now)
    for prog, picked in plans:
        chan = program_channel(prog)
        for lead_id, lead_created in sorted(picked):
            status = _member_status(rng, chan)
            st = chan.status(status)
            assert st is not None
            earliest = max(prog["createdAt"], lead_created)
            joined = rng.uniform(to_epoch(earliest), now - 60) if earliest < now_ts else now - 60
            updated = joined if rng.random() < 0.5 else rng.uniform(joined, now - 30)
            joined_ts, updated_ts = format_ts(joined), format_ts(updated)
            data: dict[str, Any] = {
                "leadId": lead_id,
                "programId": prog["id"],
                "program": prog["name"],
                "memberId": first_member + n,
                "statusName": status,
                "statusReason": rng.choice(("Registered via form", "Added by flow", API_REASON)),
                "reachedSuccess": st.success,
                "reachedSuccessDate": updated_ts if st.success else None,
                "acquiredBy": rng.random() < 0.1,
                "membershipDate": joined_ts,
                "createdAt": joined_ts,
                "updatedAt": updated_ts,
                "isExhausted": False,
                "nurtureCadence": None,
                "trackName": None,
                "attendanceLikelihood": None,
                "registrationLikelihood": None,
                "waitlistPriority": None,
                **_custom_member_values(rng, chan, status, prog["id"]),
            }
            if prog["type"] == "Engagement":
                data.update(
                    trackName=rng.choice(NURTURE_TRACKS),
                    nurtureCadence=rng.choice(NURTURE_CADENCES),
                    isExhausted=rng.random() < 0.05,
                )
            if chan.name in ("Webinar", "Tradeshow"):
                data["attendanceLikelihood"] = rng.randint(0, 100)
                data["registrationLikelihood"] = rng.randint(0, 100)
            n += 1
            members.append((prog["id"], lead_id, updated_ts, dumps(data)))
            activities.append({
                "leadId": lead_id,
                "when": updated,
                **status_change_activity(prog, data, NOT_IN_PROGRAM.name, status,
                                         reason=data["statusReason"]),
            })
            if prog["type"] == "Engagement":
                activities.append(
                    {"leadId": lead_id, "when": joined, **nurture_activity(prog, data)}
                )
    with store.transaction() as db:
        db.executemany(
            "INSERT INTO objects(kind, pk, dkey, createdAt, updatedAt, data) VALUES(?,?,?,?,?,?)",
            [(KIND_PROGRAMS, str(p["id"]), None, p["createdAt"], p["updatedAt"], dumps(p))
             for p in progs],
        )
        db.executemany(
            "INSERT INTO program_members(programId, leadId, updatedAt, data) VALUES(?,?,?,?)",
            members,
        )
        bulk_log_activities(store, db, activities)


