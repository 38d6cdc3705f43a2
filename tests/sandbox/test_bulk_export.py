"""Bulk extract against a real sandbox over HTTP: the job's life, the queue's limits, the
files as Marketo writes them, and the faults a client must survive.

Expected file contents are computed here from the store itself (never from the export
code), so a wrong row, column, null or checksum fails the test.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import json
import re
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from marketo_sandbox import SandboxServer, cli
from marketo_sandbox.bulk import csvfile
from marketo_sandbox.testing import Fixtures, SandboxApi, SandboxControl
from werkzeug.test import EnvironBuilder

DAY = 86_400
TERMINAL = ("Completed", "Failed", "Cancelled")
DEFAULT_ACTIVITY_COLUMNS = [
    "marketoGUID",
    "leadId",
    "activityDate",
    "activityTypeId",
    "campaignId",
    "primaryAttributeValueId",
    "primaryAttributeValue",
    "attributes",
]


# -- helpers -----------------------------------------------------------------------------------


class Bulk(SandboxApi):
    """The sandbox's bulk extract API as the tests speak it."""

    def call(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        reply = self.request(method, path, **kw)
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        return body

    def create(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.call("POST", f"/bulk/v1/{entity}/export/create.json", json=body)

    def created(self, entity: str, body: dict[str, Any]) -> str:
        reply = self.create(entity, body)
        assert reply["success"], reply
        return str(reply["result"][0]["exportId"])

    def enqueue(self, entity: str, export_id: str) -> dict[str, Any]:
        return self.call("POST", f"/bulk/v1/{entity}/export/{export_id}/enqueue.json")

    def status(self, entity: str, export_id: str) -> dict[str, Any]:
        reply = self.call("GET", f"/bulk/v1/{entity}/export/{export_id}/status.json")
        assert reply["success"], reply
        return dict(reply["result"][0])

    def cancel(self, entity: str, export_id: str) -> dict[str, Any]:
        return self.call("POST", f"/bulk/v1/{entity}/export/{export_id}/cancel.json")

    def jobs(self, entity: str, **params: Any) -> dict[str, Any]:
        return self.call("GET", f"/bulk/v1/{entity}/export.json", params=params)

    def wait(
        self, entity: str, export_id: str, until: tuple[str, ...] = TERMINAL
    ) -> dict[str, Any]:
        deadline = time.monotonic() + 60
        pause = 0.01
        while True:
            status = self.status(entity, export_id)
            if status["status"] in until:
                return status
            assert time.monotonic() < deadline, f"job stuck in {status}"
            time.sleep(pause)
            pause = min(pause * 2, 0.2)

    def export(self, entity: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        export_id = self.created(entity, body)
        queued = self.enqueue(entity, export_id)
        assert queued["success"], queued
        return export_id, self.wait(entity, export_id)

    def file(self, entity: str, export_id: str, **headers: str) -> requests.Response:
        path = f"/bulk/v1/{entity}/export/{export_id}/file.json"
        return self.request("GET", path, headers=headers)


@pytest.fixture
def bulk(sandbox: SandboxControl, sandbox_info: dict[str, str]) -> Bulk:
    # Polling is not what these tests are about: keep the rate window out of the way.
    sandbox.configure(rate_limit_calls=5_000)
    return Bulk(sandbox_info)


def ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now(server: SandboxServer) -> datetime:
    assert server.store is not None
    return datetime.fromtimestamp(server.store.now(), UTC)


def expected_cell(value: Any) -> str:
    """Marketo's rendering of one value in a bulk file (independent of the sandbox code)."""
    if value is None or value == "":
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def parse(data: bytes, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline=""), delimiter=delimiter))


def errors(reply: dict[str, Any]) -> list[tuple[str, str]]:
    assert reply["success"] is False, reply
    return [(e["code"], e["message"]) for e in reply["errors"]]


def store(server: SandboxServer) -> Any:
    assert server.store is not None
    return server.store


def activity_rows(server: SandboxServer, start: str, end: str) -> dict[str, dict[str, Any]]:
    rows = store(server).query(
        "SELECT data FROM activities WHERE activityDate >= ? AND activityDate <= ?", (start, end)
    )
    docs = [json.loads(r["data"]) for r in rows]
    return {str(d["marketoGUID"]): d for d in docs}


# A window three years back: older than any seeded data, so tests own what is in it.
def quiet_window(server: SandboxServer) -> tuple[datetime, datetime]:
    """A 20-day window before the seed's data, so a test's own activities are alone in it.

    Marketo would have pruned activities that old (its retention policy), so retention is
    switched off for the test (the per-test fixture turns it back on)."""
    SandboxControl(server.url).configure(activity_retention=False)
    start = (now(server) - timedelta(days=3 * 365)).replace(microsecond=0)
    return start, start + timedelta(days=20)


def add_activities(server: SandboxServer, start: datetime) -> list[dict[str, Any]]:
    """Activities with the values bulk files must render carefully."""
    lead_id = int(store(server).query("SELECT id FROM leads ORDER BY id LIMIT 1")[0]["id"])
    when = start.timestamp()
    specs: list[dict[str, Any]] = [
        {"type": 1, "pav_id": 11, "pav": "home.html", "campaign": 5,
         "attrs": {"Client IP Address": "10.0.0.1", "Query Parameters": "a=1,b=2"}},
        {"type": 1, "pav_id": 12, "pav": "Ünïcødé — página", "campaign": None,
         "attrs": {"Webpage URL": "/naïve \"quoted\" path", "Personalized URL": True}},
        {"type": 12, "pav_id": None, "pav": None, "campaign": None, "attrs": {}},
        {"type": 13, "pav_id": 21, "pav": "First Name", "campaign": 7,
         "attrs": {"New Value": "line one\nline two", "Old Value": None}},
        {"type": 46, "pav_id": None, "pav": "Met at booth", "campaign": 9,
         "attrs": {"Date": "2024-01-01"}},
    ]  # fmt: skip
    out = []
    for i, spec in enumerate(specs):
        out.append(
            store(server).log_activity(
                lead_id,
                spec["type"],
                primary_attribute_value_id=spec["pav_id"],
                primary_attribute_value=spec["pav"],
                attributes=spec["attrs"],
                campaign_id=spec["campaign"],
                when=when + 3600 * (i + 1),
            )
        )
    return out


def expected_activity(doc: dict[str, Any], columns: list[str]) -> list[str]:
    attrs = {a["name"]: a["value"] for a in doc.get("attributes") or []}
    values = {
        "marketoGUID": doc["marketoGUID"],
        "leadId": doc["leadId"],
        "activityDate": doc["activityDate"],
        "activityTypeId": doc["activityTypeId"],
        "campaignId": doc.get("campaignId"),
        "primaryAttributeValueId": doc.get("primaryAttributeValueId"),
        "primaryAttributeValue": doc.get("primaryAttributeValue"),
        "attributes": attrs or None,
        "actionResult": doc.get("actionResult") or "succeeded",
    }
    return [expected_cell(values[c]) for c in columns]


# -- activities --------------------------------------------------------------------------------


def test_activity_export_lifecycle_writes_the_window_as_marketo_does(
    bulk: Bulk, sandbox_server: SandboxServer
) -> None:
    start, end = quiet_window(sandbox_server)
    added = add_activities(sandbox_server, start)
    body = {"format": "CSV", "filter": {"createdAt": {"startAt": ts(start), "endAt": ts(end)}}}

    created = bulk.create("activities", body)
    assert created["success"], created
    job = created["result"][0]
    assert job["status"] == "Created"
    assert job["format"] == "CSV"
    assert set(job) == {"exportId", "format", "status", "createdAt"}
    export_id = job["exportId"]

    queued = bulk.enqueue("activities", export_id)["result"][0]
    assert queued["status"] == "Queued"
    assert queued["queuedAt"]
    assert "startedAt" not in queued
    assert "fileChecksum" not in queued

    done = bulk.wait("activities", export_id)
    assert done["status"] == "Completed", done
    for key in ("createdAt", "queuedAt", "startedAt", "finishedAt"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", done[key]), done
    assert "errorMsg" not in done

    reply = bulk.file("activities", export_id)
    assert reply.status_code == 200
    data = reply.content
    assert done["fileSize"] == len(data)
    assert done["fileChecksum"] == "sha256:" + hashlib.sha256(data).hexdigest()
    rows = parse(data)
    assert rows[0] == DEFAULT_ACTIVITY_COLUMNS
    assert done["numberOfRecords"] == len(rows) - 1 == len(added)
    expected = sorted(expected_activity(d, DEFAULT_ACTIVITY_COLUMNS) for d in added)
    assert sorted(rows[1:]) == expected
    # The attributes column is a JSON object (name -> value) inside one cell.
    by_guid = {r[0]: r for r in rows[1:]}
    second = by_guid[str(added[1]["marketoGUID"])]
    assert json.loads(second[7]) == {
        "Webpage URL": '/naïve "quoted" path',
        "Personalized URL": True,
    }
    assert second[4] == "null"  # no campaign
    assert "Ünïcødé — página".encode() in data  # UTF-8 kept, not escaped
    assert by_guid[str(added[2]["marketoGUID"])][5:] == ["null", "null", "null"]


def test_activity_export_matches_the_seeded_store_window(
    bulk: Bulk, sandbox_server: SandboxServer
) -> None:
    end = now(sandbox_server)
    start = end - timedelta(days=31)
    _, done = bulk.export(
        "activities", {"filter": {"createdAt": {"startAt": ts(start), "endAt": ts(end)}}}
    )
    assert done["status"] == "Completed"
    rows = parse(bulk.file("activities", done["exportId"]).content)
    expected = activity_rows(sandbox_server, ts(start), ts(end))
    assert expected, "the seed should have activities in its last month"
    assert {r[0] for r in rows[1:]} == set(expected)
    for row in rows[1:]:
        assert row == expected_activity(expected[row[0]], DEFAULT_ACTIVITY_COLUMNS)


def test_activity_export_type_filter_fields_and_header_names(
    bulk: Bulk, sandbox_server: SandboxServer
) -> None:
    start, end = quiet_window(sandbox_server)
    added = add_activities(sandbox_server, start)
    fields = ["leadId", "activityTypeId", "primaryAttributeValue", "actionResult"]
    _, done = bulk.export(
        "activities",
        {
            "fields": fields,
            "columnHeaderNames": {"leadId": "Lead Id", "actionResult": "Result"},
            "filter": {
                "createdAt": {"startAt": ts(start), "endAt": ts(end)},
                "activityTypeIds": [1, 13],
            },
        },
    )
    rows = parse(bulk.file("activities", done["exportId"]).content)
    assert rows[0] == ["Lead Id", "activityTypeId", "primaryAttributeValue", "Result"]
    wanted = [d for d in added if d["activityTypeId"] in (1, 13)]
    assert sorted(rows[1:]) == sorted(expected_activity(d, fields) for d in wanted)


def test_activity_export_primary_attribute_filter(
    bulk: Bulk, sandbox_server: SandboxServer
) -> None:
    start, end = quiet_window(sandbox_server)
    added = add_activities(sandbox_server, start)
    window = {"startAt": ts(start), "endAt": ts(end)}
    _, done = bulk.export(
        "activities",
        {"filter": {"createdAt": window, "activityTypeIds": [1], "primaryAttributeValueIds": [12]}},
    )
    rows = parse(bulk.file("activities", done["exportId"]).content)
    assert [r[0] for r in rows[1:]] == [str(added[1]["marketoGUID"])]


@pytest.mark.parametrize(
    ("filter_", "code"),
    [
        ({}, "1003"),
        ({"activityTypeIds": [1]}, "1003"),  # createdAt is required
        ({"createdAt": {"startAt": "2026-01-01T00:00:00Z", "endAt": "2026-02-02T00:00:00Z"}},
         "1003"),
        ({"createdAt": {"startAt": "2026-02-01T00:00:00Z", "endAt": "2026-01-01T00:00:00Z"}},
         "1003"),
        ({"createdAt": {"startAt": "yesterday", "endAt": "2026-01-01T00:00:00Z"}}, "1003"),
        ({"createdAt": {"startAt": "2026-01-01T00:00:00Z", "endAt": "2026-01-02T00:00:00Z"},
          "activityTypeIds": [1, 37]}, "1003"),
        ({"createdAt": {"startAt": "2026-01-01T00:00:00Z", "endAt": "2026-01-02T00:00:00Z"},
          "primaryAttributeValueIds": [1]}, "1003"),
        ({"createdAt": {"startAt": "2026-01-01T00:00:00Z", "endAt": "2026-01-02T00:00:00Z"},
          "activityTypeIds": [1], "primaryAttributeValues": [str(i) for i in range(51)]}, "1003"),
    ],
)  # fmt: skip
def test_activity_export_create_rejects_bad_filters(
    bulk: Bulk, filter_: dict[str, Any], code: str
) -> None:
    reply = bulk.create("activities", {"filter": filter_})
    assert errors(reply)[0][0] == code


def test_window_of_exactly_31_days_is_accepted_and_32_is_not(bulk: Bulk) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ok = bulk.create(
        "activities",
        {"filter": {"createdAt": {"startAt": ts(start), "endAt": ts(start + timedelta(days=31))}}},
    )
    assert ok["success"], ok
    too_wide = bulk.create(
        "activities",
        {
            "filter": {
                "createdAt": {
                    "startAt": ts(start),
                    "endAt": ts(start + timedelta(days=31, seconds=1)),
                }
            }
        },
    )
    code, message = errors(too_wide)[0]
    assert code == "1003"
    assert "31 days" in message


# -- leads -------------------------------------------------------------------------------------

LEAD_FIELDS = [
    "id",
    "email",
    "firstName",
    "lastName",
    "createdAt",
    "updatedAt",
    "isCustomer",
    "title",
]


def lead_docs(
    server: SandboxServer, sql: str, params: tuple[Any, ...]
) -> dict[str, dict[str, Any]]:
    out = {}
    for row in store(server).query(sql, params):
        doc = json.loads(row["data"])
        doc.setdefault("id", row["id"])
        out[str(row["id"])] = doc
    return out


@pytest.mark.parametrize("column", ["createdAt", "updatedAt"])
def test_lead_export_by_date_window_equals_the_store(
    bulk: Bulk, sandbox_server: SandboxServer, column: str
) -> None:
    end = now(sandbox_server)
    start = end - timedelta(days=31)
    _, done = bulk.export(
        "leads",
        {"fields": LEAD_FIELDS, "filter": {column: {"startAt": ts(start), "endAt": ts(end)}}},
    )
    assert done["status"] == "Completed", done
    data = bulk.file("leads", done["exportId"]).content
    assert done["fileChecksum"] == "sha256:" + hashlib.sha256(data).hexdigest()
    rows = parse(data)
    assert rows[0] == LEAD_FIELDS
    expected = lead_docs(
        sandbox_server,
        f"SELECT id, data FROM leads WHERE {column} >= ? AND {column} <= ?",
        (ts(start), ts(end)),
    )
    assert expected
    assert {r[0] for r in rows[1:]} == set(expected)
    for row in rows[1:]:
        doc = expected[row[0]]
        assert row == [expected_cell(doc.get(f)) for f in LEAD_FIELDS]
    assert any(r[LEAD_FIELDS.index("title")] == "null" for r in rows[1:]) or all(
        d.get("title") for d in expected.values()
    )


def test_lead_export_by_static_list_and_header_rename(
    bulk: Bulk, sandbox_server: SandboxServer
) -> None:
    list_id = int(
        store(sandbox_server).query(
            "SELECT listId FROM list_members GROUP BY listId ORDER BY count(*) DESC LIMIT 1"
        )[0]["listId"]
    )
    _, done = bulk.export(
        "leads",
        {
            "fields": ["id", "email"],
            "columnHeaderNames": {"email": "Email Address"},
            "filter": {"staticListId": list_id},
        },
    )
    rows = parse(bulk.file("leads", done["exportId"]).content)
    assert rows[0] == ["id", "Email Address"]
    members = lead_docs(
        sandbox_server,
        "SELECT l.id, l.data FROM leads l JOIN list_members m ON m.leadId = l.id "
        "WHERE m.listId = ?",
        (list_id,),
    )
    assert sorted(rows[1:]) == sorted(
        [k, expected_cell(d.get("email"))] for k, d in members.items()
    )


def test_lead_export_create_validation(bulk: Bulk, sandbox: SandboxControl) -> None:
    window = {"startAt": "2026-01-01T00:00:00Z", "endAt": "2026-01-10T00:00:00Z"}
    assert errors(bulk.create("leads", {"filter": {"createdAt": window}}))[0][0] == "1003"
    unknown = bulk.create(
        "leads", {"fields": ["email", "noSuchField"], "filter": {"createdAt": window}}
    )
    assert errors(unknown)[0] == ("1006", "Field 'noSuchField' not found")
    two = bulk.create(
        "leads", {"fields": ["email"], "filter": {"createdAt": window, "updatedAt": window}}
    )
    assert errors(two)[0][0] == "1003"
    assert (
        errors(bulk.create("leads", {"fields": ["email"], "filter": {"staticListId": 99999}}))[0][0]
        == "1003"
    )
    assert errors(
        bulk.create(
            "leads", {"fields": ["email"], "format": "XLS", "filter": {"createdAt": window}}
        )
    )

    sandbox.configure(bulk_updated_at_filter=False)
    refused = bulk.create("leads", {"fields": ["email"], "filter": {"updatedAt": window}})
    assert errors(refused)[0][0] == "1035"
    still_fine = bulk.create("leads", {"fields": ["email"], "filter": {"createdAt": window}})
    assert still_fine["success"], still_fine


# -- program members ---------------------------------------------------------------------------


def live_members(server: SandboxServer, program_ids: list[int]) -> list[dict[str, Any]]:
    marks = ",".join("?" * len(program_ids))
    rows = store(server).query(
        f"SELECT pm.programId, pm.leadId, pm.data, l.data AS lead FROM program_members pm "
        f"JOIN leads l ON l.id = pm.leadId WHERE pm.programId IN ({marks})",
        program_ids,
    )
    out = []
    for r in rows:
        member = json.loads(r["data"])
        member.update(programId=r["programId"], leadId=r["leadId"], lead=json.loads(r["lead"]))
        out.append(member)
    return out


def busiest_programs(server: SandboxServer, count: int) -> list[int]:
    rows = store(server).query(
        "SELECT programId FROM program_members GROUP BY programId ORDER BY count(*) DESC LIMIT ?",
        (count,),
    )
    return [int(r["programId"]) for r in rows]


def test_program_member_export_joins_member_and_lead_fields(
    bulk: Bulk, sandbox_server: SandboxServer
) -> None:
    program_id = busiest_programs(sandbox_server, 1)[0]
    fields = [
        "leadId",
        "statusName",
        "reachedSuccess",
        "membershipDate",
        "program",
        "email",
        "firstName",
    ]
    _, done = bulk.export(
        "program/members", {"fields": fields, "filter": {"programId": program_id}}
    )
    assert done["status"] == "Completed", done
    rows = parse(bulk.file("program/members", done["exportId"]).content)
    assert rows[0] == fields
    lead_fields = ("email", "firstName")
    expected = [
        [expected_cell((m["lead"] if f in lead_fields else m).get(f)) for f in fields]
        for m in live_members(sandbox_server, [program_id])
    ]
    assert expected
    assert sorted(rows[1:]) == sorted(expected)


def test_program_member_export_with_program_ids_leads_with_program_id(
    bulk: Bulk, sandbox_server: SandboxServer
) -> None:
    program_ids = busiest_programs(sandbox_server, 2)
    _, done = bulk.export(
        "program/members",
        {"fields": ["leadId", "statusName"], "filter": {"programIds": program_ids}},
    )
    rows = parse(bulk.file("program/members", done["exportId"]).content)
    assert rows[0] == ["programId", "leadId", "statusName"]
    expected = [
        [str(m["programId"]), str(m["leadId"]), expected_cell(m.get("statusName"))]
        for m in live_members(sandbox_server, program_ids)
    ]
    assert sorted(rows[1:]) == sorted(expected)
    assert {r[0] for r in rows[1:]} == {str(p) for p in program_ids}


def test_program_member_export_status_filter_and_validation(
    bulk: Bulk, sandbox_server: SandboxServer
) -> None:
    program_id = busiest_programs(sandbox_server, 1)[0]
    members = live_members(sandbox_server, [program_id])
    status = members[0]["statusName"]
    _, done = bulk.export(
        "program/members",
        {"fields": ["leadId"], "filter": {"programId": program_id, "statusNames": [status]}},
    )
    rows = parse(bulk.file("program/members", done["exportId"]).content)
    assert sorted(r[0] for r in rows[1:]) == sorted(
        str(m["leadId"]) for m in members if m["statusName"] == status
    )
    assert (
        errors(bulk.create("program/members", {"fields": ["leadId"], "filter": {}}))[0][0] == "1003"
    )
    eleven = bulk.create(
        "program/members", {"fields": ["leadId"], "filter": {"programIds": list(range(1, 12))}}
    )
    assert errors(eleven)[0][0] == "1003"
    both = bulk.create(
        "program/members",
        {"fields": ["leadId"], "filter": {"programId": program_id, "programIds": [program_id]}},
    )
    assert errors(both)[0][0] == "1003"
    assert (
        errors(bulk.create("program/members", {"filter": {"programId": program_id}}))[0][0]
        == "1003"
    )
    unknown = bulk.create(
        "program/members", {"fields": ["bogus"], "filter": {"programId": program_id}}
    )
    assert errors(unknown)[0][0] == "1006"


# -- custom objects ----------------------------------------------------------------------------


def test_custom_object_export_by_updated_at(bulk: Bulk, sandbox_server: SandboxServer) -> None:
    end = now(sandbox_server)
    start = end - timedelta(days=31)
    fields = ["marketoGUID", "vin", "leadId", "make", "price", "isLeased"]
    _, done = bulk.export(
        "customobjects/car_c",
        {"fields": fields, "filter": {"updatedAt": {"startAt": ts(start), "endAt": ts(end)}}},
    )
    assert done["status"] == "Completed", done
    rows = parse(bulk.file("customobjects/car_c", done["exportId"]).content)
    assert rows[0] == fields
    records = [
        json.loads(r["data"])
        for r in store(sandbox_server).query(
            "SELECT data FROM objects WHERE kind='customobjects/car_c' "
            "AND updatedAt >= ? AND updatedAt <= ?",
            (ts(start), ts(end)),
        )
    ]
    assert records
    assert sorted(rows[1:]) == sorted([expected_cell(r.get(f)) for f in fields] for r in records)


def test_custom_object_export_by_static_list(bulk: Bulk, sandbox_server: SandboxServer) -> None:
    fixtures = Fixtures(sandbox_server)
    cars = fixtures.records("customobjects/car_c")
    car = cars[0]
    list_id = int(store(sandbox_server).query("SELECT listId FROM list_members LIMIT 1")[0][0])
    fixtures.list_member(list_id, car["leadId"])
    _, done = bulk.export(
        "customobjects/car_c",
        {"fields": ["marketoGUID", "leadId"], "filter": {"staticListId": list_id}},
    )
    rows = parse(bulk.file("customobjects/car_c", done["exportId"]).content)
    members = set(fixtures.list_members(list_id))
    expected = [[c["marketoGUID"], str(c["leadId"])] for c in cars if c.get("leadId") in members]
    assert [car["marketoGUID"], str(car["leadId"])] in rows[1:]
    assert sorted(rows[1:]) == sorted(expected)


def test_custom_object_export_validation(bulk: Bulk) -> None:
    window = {"startAt": "2026-01-01T00:00:00Z", "endAt": "2026-01-10T00:00:00Z"}
    assert (
        errors(
            bulk.create("customobjects/nope_c", {"fields": ["x"], "filter": {"updatedAt": window}})
        )[0][0]
        == "1003"
    )
    assert (
        errors(
            bulk.create(
                "customobjects/car_c", {"fields": ["wheels"], "filter": {"updatedAt": window}}
            )
        )[0][0]
        == "1006"
    )
    assert (
        errors(
            bulk.create("customobjects/car_c", {"fields": ["vin"], "filter": {"createdAt": window}})
        )[0][0]
        == "1003"
    )


def test_custom_object_updated_at_filter_can_be_refused_as_a_subscription_feature(
    bulk: Bulk, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    window = {"startAt": "2026-01-01T00:00:00Z", "endAt": "2026-01-10T00:00:00Z"}
    body = {"fields": ["vin"], "filter": {"updatedAt": window}}
    # Adobe marks only the smart list filters as subscription features: the leads'
    # switch leaves custom objects alone...
    sandbox.configure(bulk_updated_at_filter=False)
    assert bulk.create("customobjects/car_c", body)["success"]
    # ...their own switch refuses updatedAt with 1035, and only updatedAt.
    sandbox.configure(custom_object_updated_at_filter=False)
    refused = bulk.create("customobjects/subscription_c", {**body, "fields": ["subscriptionId"]})
    assert errors(refused)[0] == (
        "1035", "Unsupported filter type for target subscription: updatedAt"
    )
    assert errors(bulk.create("customobjects/car_c", body))[0][0] == "1035"
    list_id = int(store(sandbox_server).query("SELECT listId FROM list_members LIMIT 1")[0][0])
    by_list = {"fields": ["vin"], "filter": {"staticListId": list_id}}
    assert bulk.create("customobjects/car_c", by_list)["success"]


# -- files: ranges, drops, formats, quirks -----------------------------------------------------


@pytest.fixture
def finished_export(bulk: Bulk, sandbox_server: SandboxServer) -> tuple[str, dict[str, Any], bytes]:
    end = now(sandbox_server)
    _, done = bulk.export(
        "activities",
        {"filter": {"createdAt": {"startAt": ts(end - timedelta(days=31)), "endAt": ts(end)}}},
    )
    assert done["status"] == "Completed"
    data = bulk.file("activities", done["exportId"]).content
    assert len(data) > 2000, "the seeded month should make a file of a few KB"
    return done["exportId"], done, data


def test_range_request_returns_206_with_exact_bytes(
    bulk: Bulk, finished_export: tuple[str, dict[str, Any], bytes]
) -> None:
    export_id, done, data = finished_export
    reply = bulk.file("activities", export_id, Range="bytes=100-1099")
    assert reply.status_code == 206
    assert reply.headers["Content-Range"] == f"bytes 100-1099/{done['fileSize']}"
    assert reply.headers["Accept-Ranges"] == "bytes"
    assert reply.content == data[100:1100]
    tail = bulk.file("activities", export_id, Range=f"bytes={len(data) - 10}-")
    assert tail.status_code == 206
    assert tail.content == data[-10:]


def test_range_past_the_end_is_416_not_a_body_to_append(
    bulk: Bulk, finished_export: tuple[str, dict[str, Any], bytes]
) -> None:
    export_id, done, data = finished_export
    reply = bulk.file("activities", export_id, Range=f"bytes={len(data)}-")
    assert reply.status_code == 416
    assert reply.headers["Content-Range"] == f"bytes */{done['fileSize']}"


def test_dropped_download_resumes_with_range_to_identical_bytes(
    bulk: Bulk, sandbox: SandboxControl, finished_export: tuple[str, dict[str, Any], bytes]
) -> None:
    export_id, done, data = finished_export
    sandbox.fault(path=f"/bulk/v1/activities/export/{export_id}/file.json", drop_after_bytes=700)
    received = bytearray()

    def download() -> None:
        with bulk.session.get(
            f"{bulk.base}/bulk/v1/activities/export/{export_id}/file.json", stream=True, timeout=30
        ) as reply:
            for chunk in reply.iter_content(128):
                received.extend(chunk)

    with pytest.raises(requests.exceptions.RequestException):
        download()
    assert 0 < len(received) < len(data)
    rest = bulk.file("activities", export_id, Range=f"bytes={len(received)}-")
    assert rest.status_code == 206
    whole = bytes(received) + rest.content
    assert whole == data
    assert "sha256:" + hashlib.sha256(whole).hexdigest() == done["fileChecksum"]


@pytest.mark.parametrize(("fmt", "delimiter"), [("TSV", "\t"), ("SSV", ";")])
def test_tsv_and_ssv_files(
    bulk: Bulk, sandbox_server: SandboxServer, fmt: str, delimiter: str
) -> None:
    start, end = quiet_window(sandbox_server)
    added = add_activities(sandbox_server, start)
    _, done = bulk.export(
        "activities",
        {"format": fmt, "filter": {"createdAt": {"startAt": ts(start), "endAt": ts(end)}}},
    )
    assert done["format"] == fmt
    data = bulk.file("activities", done["exportId"]).content
    rows = parse(data, delimiter)
    assert data.split(b"\n", 1)[0] == delimiter.join(DEFAULT_ACTIVITY_COLUMNS).encode()
    assert sorted(rows[1:]) == sorted(expected_activity(d, DEFAULT_ACTIVITY_COLUMNS) for d in added)


def test_csv_quirks_parse_back_to_the_same_values(
    bulk: Bulk, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    sandbox.configure(csv_quirks=True)
    end = now(sandbox_server)
    start = end - timedelta(days=400)
    fields = ["id", "firstName", "lastName", "title", "email"]
    body = {
        "fields": fields,
        "filter": {"createdAt": {"startAt": ts(start), "endAt": ts(start + timedelta(days=31))}},
    }
    _, done = bulk.export("leads", body)
    data = bulk.file("leads", done["exportId"]).content
    assert done["fileChecksum"] == "sha256:" + hashlib.sha256(data).hexdigest()
    assert b"\x00" in data
    assert re.search(rb"\r(?!\n)", data), "a bare carriage return"
    rows = parse(data)
    assert rows[0] == fields
    expected = lead_docs(
        sandbox_server,
        "SELECT id, data FROM leads WHERE createdAt >= ? AND createdAt <= ? ORDER BY id",
        (ts(start), ts(start + timedelta(days=31))),
    )
    assert len(rows) - 1 == len(expected) >= 8
    quirked = 0
    for row_no, row in enumerate(rows[1:]):
        doc = expected[row[0]]
        plain = [expected_cell(doc.get(f)) for f in fields]
        changed = [i for i, (got, want) in enumerate(zip(row, plain, strict=True)) if got != want]
        if not csvfile.has_quirk(row_no):
            assert changed == []
            continue
        # One text cell carries the quirk; the reader gets it back whole, inside one cell.
        assert len(changed) == 1
        assert fields[changed[0]] in ("firstName", "lastName", "title")
        assert row[changed[0]] == csvfile.quirk(plain[changed[0]], row_no)
        quirked += 1
    assert quirked >= 2
    assert any("\n" in cell for row in rows for cell in row), "a multi-line quoted cell"


# -- the queue ---------------------------------------------------------------------------------


def small_activity_body(server: SandboxServer) -> dict[str, Any]:
    end = now(server)
    return {"filter": {"createdAt": {"startAt": ts(end - timedelta(days=2)), "endAt": ts(end)}}}


def test_eleventh_queued_job_is_refused(
    bulk: Bulk, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    sandbox.configure(export_queued_seconds=600)
    body = small_activity_body(sandbox_server)
    ids = [bulk.created("activities", body) for _ in range(11)]
    for export_id in ids[:10]:
        reply = bulk.enqueue("activities", export_id)
        assert reply["success"], reply
        assert reply["result"][0]["status"] == "Queued"
    assert errors(bulk.enqueue("activities", ids[10])) == [("1029", "Too many jobs in queue")]
    # The queue is shared: another kind is refused too.
    lead_job = bulk.created(
        "leads", {"fields": ["id"], "filter": {"createdAt": body["filter"]["createdAt"]}}
    )
    assert errors(bulk.enqueue("leads", lead_job))[0] == ("1029", "Too many jobs in queue")
    # Cancelling one frees a place.
    assert bulk.cancel("activities", ids[0])["result"][0]["status"] == "Cancelled"
    assert bulk.enqueue("activities", ids[10])["success"]


def test_at_most_two_jobs_process_at_once(
    bulk: Bulk, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    sandbox.configure(export_processing_seconds=600)
    body = small_activity_body(sandbox_server)
    ids = [bulk.created("activities", body) for _ in range(3)]
    for export_id in ids:
        bulk.enqueue("activities", export_id)
    bulk.wait("activities", ids[1], until=("Processing",))
    time.sleep(0.3)
    states = [bulk.status("activities", i)["status"] for i in ids]
    assert states == ["Processing", "Processing", "Queued"]
    sandbox.configure(export_processing_seconds=0)
    assert [bulk.wait("activities", i)["status"] for i in ids] == ["Completed"] * 3


def test_export_jobs_record_the_queue_peak_and_queue_full_refusals(
    bulk: Bulk, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    sandbox.configure(export_queued_seconds=600)
    body = small_activity_body(sandbox_server)
    ids = [bulk.created("activities", body) for _ in range(11)]
    for export_id in ids:
        bulk.enqueue("activities", export_id)
    timeline = sandbox.export_jobs()
    assert timeline["peak_active"] == 10
    assert timeline["queue_full_refusals"] == 1
    assert [j["exportId"] for j in timeline["jobs"]] == ids
    assert all(j["queued"] is not None for j in timeline["jobs"][:10])
    assert timeline["jobs"][10]["queued"] is None
    assert timeline["jobs"][10]["status"] == "Created"


def test_processing_time_grows_with_the_rows_of_the_export(
    bulk: Bulk, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    # The minimum plus 5 s per 1,000 rows: a job of a few rows takes about the minimum,
    # one of a month of activities (hundreds of rows) over a second longer.
    sandbox.configure(export_processing_seconds=0.3, export_processing_seconds_per_1k_rows=5.0)
    end = now(sandbox_server)
    few = bulk.created("activities", small_activity_body(sandbox_server))
    every = bulk.created(
        "activities",
        {"filter": {"createdAt": {"startAt": ts(end - timedelta(days=31)), "endAt": ts(end)}}},
    )
    for export_id in (few, every):
        bulk.enqueue("activities", export_id)
    done = {i: bulk.wait("activities", i) for i in (few, every)}
    assert done[every]["numberOfRecords"] > done[few]["numberOfRecords"] + 200
    timeline = {j["exportId"]: j for j in sandbox.export_jobs()["jobs"]}
    took = {i: timeline[i]["finished"] - timeline[i]["started"] for i in (few, every)}
    for export_id in (few, every):
        expected = 0.3 + 5.0 * done[export_id]["numberOfRecords"] / 1000
        assert expected <= took[export_id] < expected + 1.5, (export_id, took)
    floor = sandbox.export_jobs()["two_slot_floor_seconds"]
    assert floor == pytest.approx((took[few] + took[every]) / 2)
    assert sandbox.export_jobs()["peak_processing"] == 2


def test_job_clock_holds_processing_and_fills_timestamps(
    bulk: Bulk, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    sandbox.configure(export_processing_seconds=1.5)
    export_id = bulk.created("activities", small_activity_body(sandbox_server))
    started = time.monotonic()
    bulk.enqueue("activities", export_id)
    processing = bulk.wait("activities", export_id, until=("Processing", "Completed"))
    assert processing["status"] == "Processing"
    assert processing["startedAt"]
    assert "finishedAt" not in processing
    assert "fileSize" not in processing
    assert bulk.file("activities", export_id).status_code == 404
    done = bulk.wait("activities", export_id)
    assert time.monotonic() - started >= 1.4
    assert done["status"] == "Completed"
    assert done["finishedAt"] >= done["startedAt"]
    assert bulk.file("activities", export_id).status_code == 200


def test_enqueue_twice_is_job_already_queued(bulk: Bulk, sandbox_server: SandboxServer) -> None:
    export_id = bulk.created("activities", small_activity_body(sandbox_server))
    assert bulk.enqueue("activities", export_id)["success"]
    assert errors(bulk.enqueue("activities", export_id)) == [("1029", "Job already queued")]
    bulk.wait("activities", export_id)
    assert errors(bulk.enqueue("activities", export_id)) == [("1029", "Job already queued")]


def test_daily_export_quota_counts_file_bytes_until_the_central_midnight(
    bulk: Bulk, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    sandbox.configure(export_daily_quota_bytes=200)
    body = small_activity_body(sandbox_server)
    waiting = bulk.created("activities", body)
    _, done = bulk.export("activities", body)
    assert done["fileSize"] > 200
    code, message = errors(bulk.create("activities", body))[0]
    assert code == "1029"
    assert "Export daily quota" in message
    assert "exceeded" in message
    assert errors(bulk.enqueue("activities", waiting))[0][0] == "1029"
    sandbox.configure(clock_offset_seconds=DAY)
    bulk.renew()  # the jump expired the token
    assert bulk.enqueue("activities", waiting)["success"]


def test_cancel_stops_a_job_and_its_file(
    bulk: Bulk, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    body = small_activity_body(sandbox_server)
    created_only = bulk.created("activities", body)
    assert bulk.cancel("activities", created_only)["result"][0]["status"] == "Cancelled"
    assert errors(bulk.enqueue("activities", created_only))[0][0] == "1029"

    sandbox.configure(export_queued_seconds=600)
    queued = bulk.created("activities", body)
    bulk.enqueue("activities", queued)
    cancelled = bulk.cancel("activities", queued)["result"][0]
    assert cancelled["status"] == "Cancelled"
    assert cancelled["queuedAt"]
    sandbox.configure(export_queued_seconds=0)
    time.sleep(0.3)
    assert bulk.status("activities", queued)["status"] == "Cancelled"
    assert bulk.file("activities", queued).status_code == 404
    assert errors(bulk.cancel("activities", queued))[0][0] == "1003"


def test_list_jobs_by_status_and_kind(
    bulk: Bulk, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    body = small_activity_body(sandbox_server)
    done_id, _ = bulk.export("activities", body)
    created_id = bulk.created("activities", body)
    cancelled_id = bulk.created("activities", body)
    bulk.cancel("activities", cancelled_id)
    lead_id = bulk.created("leads", {"fields": ["id"], "filter": body["filter"]})

    everything = bulk.jobs("activities")
    assert {j["exportId"] for j in everything["result"]} == {done_id, created_id, cancelled_id}
    assert "nextPageToken" not in everything
    completed = bulk.jobs("activities", status="completed")["result"]
    assert [j["exportId"] for j in completed] == [done_id]
    assert completed[0]["fileChecksum"].startswith("sha256:")
    several = bulk.jobs("activities", status="Created,Cancelled")["result"]
    assert {j["exportId"] for j in several} == {created_id, cancelled_id}
    assert [j["exportId"] for j in bulk.jobs("leads")["result"]] == [lead_id]

    paged = bulk.jobs("activities", batchSize=2)
    assert len(paged["result"]) == 2
    assert paged["nextPageToken"]
    rest = bulk.jobs("activities", batchSize=2, nextPageToken=paged["nextPageToken"])
    assert len(rest["result"]) == 1
    assert "nextPageToken" not in rest

    sandbox.configure(clock_offset_seconds=8 * DAY)
    bulk.renew()
    assert bulk.jobs("activities")["result"] == []  # only the last 7 days are listed
    assert bulk.status("activities", done_id)["status"] == "Completed"


# -- faults, retention, unknown jobs -----------------------------------------------------------


def test_export_fail_fault_ends_the_job_failed(
    bulk: Bulk, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    export_id = bulk.created("activities", small_activity_body(sandbox_server))
    sandbox.fault(
        path=f"/bulk/v1/activities/export/{export_id}/status.json",
        export_fail=True,
        message="Export failed due to an internal error",
    )
    bulk.enqueue("activities", export_id)
    failed = bulk.wait("activities", export_id)
    assert failed["status"] == "Failed"
    assert failed["errorMsg"] == "Export failed due to an internal error"
    assert failed["finishedAt"]
    assert "fileChecksum" not in failed
    assert "fileSize" not in failed
    assert bulk.file("activities", export_id).status_code == 404
    # The fault hit one job only.
    _, again = bulk.export("activities", small_activity_body(sandbox_server))
    assert again["status"] == "Completed"


def test_export_file_gone_fault_completes_without_a_file(
    bulk: Bulk, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    sandbox.fault(path=r"/bulk/v1/leads/export/[^/]+/status\.json", export_file_gone=True)
    end = now(sandbox_server)
    _, done = bulk.export(
        "leads",
        {
            "fields": ["id"],
            "filter": {"updatedAt": {"startAt": ts(end - timedelta(days=31)), "endAt": ts(end)}},
        },
    )
    assert done["status"] == "Completed"
    assert done["fileChecksum"].startswith("sha256:")
    reply = bulk.file("leads", done["exportId"])
    assert reply.status_code == 404
    assert reply.headers["Content-Type"].startswith("text/plain")


def test_files_expire_after_the_retention_period(
    bulk: Bulk, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    export_id, _ = bulk.export("activities", small_activity_body(sandbox_server))
    sandbox.configure(clock_offset_seconds=6 * DAY)
    bulk.renew()
    assert bulk.file("activities", export_id).status_code == 200
    sandbox.configure(clock_offset_seconds=7 * DAY + 3600)
    bulk.renew()
    assert bulk.status("activities", export_id)["status"] == "Completed"
    assert bulk.file("activities", export_id).status_code == 404


def test_unknown_or_unfinished_jobs(
    bulk: Bulk, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    missing = bulk.file("activities", "00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert missing.headers["Content-Type"].startswith("text/plain")
    unknown = bulk.call(
        "GET", "/bulk/v1/activities/export/00000000-0000-0000-0000-000000000000/status.json"
    )
    assert errors(unknown)[0][0] == "1003"
    sandbox.configure(export_queued_seconds=600)
    export_id = bulk.created("activities", small_activity_body(sandbox_server))
    assert bulk.file("activities", export_id).status_code == 404
    bulk.enqueue("activities", export_id)
    assert bulk.file("activities", export_id).status_code == 404
    # A job belongs to its kind: the leads endpoints do not know an activities job.
    assert (
        errors(bulk.call("GET", f"/bulk/v1/leads/export/{export_id}/status.json"))[0][0] == "1003"
    )


def test_ground_truth_lists_export_jobs(
    bulk: Bulk, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    export_id, done = bulk.export("activities", small_activity_body(sandbox_server))
    jobs = {j["exportId"]: j for j in sandbox.objects("export_jobs")}
    assert jobs[export_id]["status"] == "Completed"
    assert jobs[export_id]["entity"] == "activities"
    assert jobs[export_id]["fileChecksum"] == done["fileChecksum"]
    sandbox.reset()
    assert sandbox.objects("export_jobs") == []


def test_reset_forgets_jobs_and_their_files(
    bulk: Bulk, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    export_id, _ = bulk.export("activities", small_activity_body(sandbox_server))
    sandbox.reset()
    bulk.renew()
    assert bulk.file("activities", export_id).status_code == 404
    _, after = bulk.export("activities", small_activity_body(sandbox_server))
    assert after["status"] == "Completed"


# -- the referee: marketorestpython ------------------------------------------------------------


@pytest.fixture
def mrp(bulk: Bulk, sandbox_info: dict[str, str]) -> Iterator[Any]:
    marketorestpython = pytest.importorskip("marketorestpython.client")
    client = marketorestpython.MarketoClient(
        "123-ABC-456", sandbox_info["client_id"], sandbox_info["client_secret"], max_retry_time=5
    )
    client.host = sandbox_info["endpoint"]
    return client


def test_marketorestpython_runs_an_activity_export(mrp: Any, sandbox_server: SandboxServer) -> None:
    body = small_activity_body(sandbox_server)
    job = mrp.execute(method="create_activities_export_job", filters=body["filter"])
    export_id = job[0]["exportId"]
    assert (
        mrp.execute(method="enqueue_activities_export_job", job_id=export_id)[0]["status"]
        == "Queued"
    )
    deadline = time.monotonic() + 30
    while True:
        status = mrp.execute(method="get_activities_export_job_status", job_id=export_id)[0]
        if status["status"] == "Completed" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status["status"] == "Completed"
    content = mrp.execute(method="get_activities_export_job_file", job_id=export_id)
    assert "sha256:" + hashlib.sha256(content).hexdigest() == status["fileChecksum"]
    listed = mrp.execute(method="get_activities_export_jobs_list")
    assert export_id in {j["exportId"] for j in listed}


def test_marketorestpython_gives_up_on_the_daily_quota(
    mrp: Any, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    sandbox.configure(export_daily_quota_bytes=1)
    body = small_activity_body(sandbox_server)
    export_id = mrp.execute(method="create_activities_export_job", filters=body["filter"])[0][
        "exportId"
    ]
    mrp.execute(method="enqueue_activities_export_job", job_id=export_id)
    deadline = time.monotonic() + 30
    while (
        mrp.execute(method="get_activities_export_job_status", job_id=export_id)[0]["status"]
        != "Completed"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    started = time.monotonic()
    # execute() re-raises Marketo errors as a bare Exception carrying the error object.
    with pytest.raises(Exception, match="Export daily quota") as caught:
        mrp.execute(method="create_activities_export_job", filters=body["filter"])
    assert caught.value.args[0]["code"] == "1029"
    # The client treats the quota message as fatal: no retry loop.
    assert time.monotonic() - started < 3


def test_serve_flags_set_the_job_clock() -> None:
    args = cli._parser().parse_args(
        [
            "serve",
            "--export-delay=5",
            "--export-processing-seconds=2",
            "--export-seconds-per-1k-rows=0.3",
        ]
    )
    config = cli.config_from_args(args)
    # --export-delay sets both states; the processing minimum given alone wins over it.
    assert config.export_queued_seconds == 5.0
    assert config.export_processing_seconds == 2.0
    assert config.export_processing_seconds_per_1k_rows == 0.3


def test_a_download_abandoned_midway_leaves_no_file_open(
    bulk: Bulk, sandbox_server: SandboxServer, finished_export: tuple[str, dict[str, Any], bytes]
) -> None:
    # What werkzeug's server does when a client drops the connection (a killed tap): it
    # stops iterating the response and never closes it. The file must close anyway,
    # not be left to the garbage collector's ResourceWarning.
    export_id, _, data = finished_export
    token = bulk.renew()
    environ = EnvironBuilder(
        path=f"/bulk/v1/activities/export/{export_id}/file.json",
        query_string={"access_token": token},
    ).get_environ()
    answered: list[str] = []
    body = sandbox_server.app(environ, lambda status, headers, *_: answered.append(status))
    first = next(iter(body))
    assert answered[0].startswith("200")
    assert data.startswith(first)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        del body
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)], caught
