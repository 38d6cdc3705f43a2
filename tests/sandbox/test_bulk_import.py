"""Bulk lead import against a real sandbox over HTTP: batches, their queue, and the
failure and warning files a client reads back."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from marketo_sandbox import SandboxServer
from marketo_sandbox.testing import Fixtures, SandboxApi, SandboxControl

ADD_TO_LIST = 24


class Imports(SandboxApi):
    """The sandbox's bulk import API as the tests speak it."""

    def submit_raw(
        self, text: str | bytes, *, name: str = "leads.csv", **params: Any
    ) -> requests.Response:
        params.setdefault("format", "csv")
        data = text.encode() if isinstance(text, str) else text
        return self.session.post(
            f"{self.base}/bulk/v1/leads.json",
            params=params,
            files={"file": (name, data, "text/csv")},
            timeout=60,
        )

    def submit(self, text: str | bytes, **params: Any) -> dict[str, Any]:
        reply = self.submit_raw(text, **params)
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        return body

    def status(self, batch_id: int) -> dict[str, Any]:
        body = self.session.get(
            f"{self.base}/bulk/v1/leads/batch/{batch_id}.json", timeout=30
        ).json()
        assert body["success"], body
        return dict(body["result"][0])

    def wait(self, batch_id: int) -> dict[str, Any]:
        deadline = time.monotonic() + 60
        pause = 0.01
        while True:
            status = self.status(batch_id)
            if status["status"] in ("Complete", "Failed"):
                return status
            assert time.monotonic() < deadline, status
            time.sleep(pause)
            pause = min(pause * 2, 0.2)

    def run(self, text: str | bytes, **params: Any) -> dict[str, Any]:
        reply = self.submit(text, **params)
        assert reply["success"], reply
        return self.wait(reply["result"][0]["batchId"])

    def report(self, batch_id: int, which: str) -> requests.Response:
        return self.session.get(
            f"{self.base}/bulk/v1/leads/batch/{batch_id}/{which}.json", timeout=30
        )


@pytest.fixture
def imports(sandbox: SandboxControl, sandbox_info: dict[str, str]) -> Imports:
    sandbox.configure(rate_limit_calls=5_000)
    return Imports(sandbox_info)


def lead_by_email(server: SandboxServer, email: str) -> dict[str, Any] | None:
    assert server.store is not None
    rows = server.store.query("SELECT data FROM leads WHERE email = ? COLLATE NOCASE", (email,))
    return json.loads(rows[0]["data"]) if rows else None


def rows_of(text: str, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def existing_lead(server: SandboxServer) -> dict[str, Any]:
    assert server.store is not None
    row = server.store.query("SELECT data FROM leads WHERE email IS NOT NULL ORDER BY id LIMIT 1")
    return dict(json.loads(row[0]["data"]))


def test_import_creates_and_updates_leads(imports: Imports, sandbox_server: SandboxServer) -> None:
    known = existing_lead(sandbox_server)
    text = (
        "email,firstName,lastName,title,numberOfEmployees\n"
        "ada.import@example.com,Ada,Lovelace,Analyst,12\n"
        'zoë.import@example.com,Zoë,Ünal,"Head of ""Ops"", EMEA",3\n'
        f"{known['email']},{known.get('firstName') or 'X'},Renamed-By-Import,,\n"
    )
    submitted = imports.submit(text)
    assert submitted["success"], submitted
    first = submitted["result"][0]
    assert first["status"] == "Queued"
    assert first["importId"] == str(first["batchId"])

    done = imports.wait(first["batchId"])
    assert done == {
        "batchId": first["batchId"],
        "importId": first["importId"],
        "status": "Complete",
        "numOfLeadsProcessed": 3,
        "numOfRowsFailed": 0,
        "numOfRowsWithWarning": 0,
        "message": "Import succeeded, 3 records imported (3 members)",
    }
    ada = lead_by_email(sandbox_server, "ada.import@example.com")
    assert ada is not None
    assert (ada["firstName"], ada["lastName"], ada["title"]) == ("Ada", "Lovelace", "Analyst")
    assert ada["numberOfEmployees"] == 12
    zoe = lead_by_email(sandbox_server, "zoë.import@example.com")
    assert zoe is not None
    assert zoe["title"] == 'Head of "Ops", EMEA'
    updated = lead_by_email(sandbox_server, known["email"])
    assert updated is not None
    assert updated["id"] == known["id"]
    assert updated["lastName"] == "Renamed-By-Import"
    # An empty cell leaves the field alone.
    assert updated.get("title") == known.get("title")


def test_failures_and_warnings_files_carry_the_original_rows(
    imports: Imports, sandbox_server: SandboxServer
) -> None:
    text = (
        "email,firstName,lastName,numberOfEmployees\n"
        "good.one@example.com,Good,One,10\n"
        "short,row\n"
        "not-an-email,Bad,Email,4\n"
        "warned@example.com,Warn,Ed,many\n"
        "good.two@example.com,Good,Two,\n"
    )
    done = imports.run(text)
    assert done["status"] == "Complete"
    assert done["numOfLeadsProcessed"] == 3
    assert done["numOfRowsFailed"] == 2
    assert done["numOfRowsWithWarning"] == 1
    assert (
        done["message"] == "Import completed with errors, 3 records imported (3 members), 2 failed"
    )

    failures = rows_of(imports.report(done["batchId"], "failures").text)
    assert failures[0] == [
        "email",
        "firstName",
        "lastName",
        "numberOfEmployees",
        "Import Failure Reason",
    ]
    assert [r[:-1] for r in failures[1:]] == [
        ["short", "row"],
        ["not-an-email", "Bad", "Email", "4"],
    ]
    assert "expected 4 values" in failures[1][-1]
    assert "email" in failures[2][-1].lower()

    warnings = rows_of(imports.report(done["batchId"], "warnings").text)
    assert warnings[0][-1] == "Import Warning Reason"
    assert warnings[1][:-1] == ["warned@example.com", "Warn", "Ed", "many"]
    assert "numberOfEmployees" in warnings[1][-1]
    warned = lead_by_email(sandbox_server, "warned@example.com")
    assert warned is not None
    assert "numberOfEmployees" not in warned
    assert lead_by_email(sandbox_server, "not-an-email") is None


def test_import_into_a_static_list_adds_members_and_activities(
    imports: Imports, sandbox_server: SandboxServer
) -> None:
    st = sandbox_server.store
    assert st is not None
    list_row = st.query("SELECT pk, data FROM objects WHERE kind='lists' ORDER BY pk LIMIT 1")[0]
    static = json.loads(list_row["data"])
    done = imports.run(
        "email,firstName\nlisted.one@example.com,One\nlisted.two@example.com,Two\n",
        listId=static["id"],
    )
    assert done["status"] == "Complete"
    for email in ("listed.one@example.com", "listed.two@example.com"):
        lead = lead_by_email(sandbox_server, email)
        assert lead is not None
        fixtures = Fixtures(sandbox_server)
        assert static["id"] in fixtures.memberships(lead["id"])[0]
        (doc,) = fixtures.activities(lead["id"], ADD_TO_LIST)
        assert doc["primaryAttributeValueId"] == static["id"]
        assert doc["primaryAttributeValue"] == static["name"]
    unknown = imports.submit("email\nx@example.com\n", listId=987654)
    assert unknown["success"] is False
    assert unknown["errors"][0]["code"] == "1013"


def test_unknown_header_field_fails_the_whole_batch(
    imports: Imports, sandbox_server: SandboxServer
) -> None:
    done = imports.run("email,favouriteColour\nnobody.here@example.com,blue\n")
    assert done["status"] == "Failed"
    assert "favouriteColour" in done["message"]
    assert done["numOfLeadsProcessed"] == 0
    assert lead_by_email(sandbox_server, "nobody.here@example.com") is None


def test_tsv_import_and_update_only_by_id(imports: Imports, sandbox_server: SandboxServer) -> None:
    known = existing_lead(sandbox_server)
    text = f"id\tlastName\n{known['id']}\tViaTsv\n999999\tNobody\n"
    done = imports.run(text, format="tsv", lookupField="id")
    assert done["numOfLeadsProcessed"] == 1
    assert done["numOfRowsFailed"] == 1
    failures = rows_of(imports.report(done["batchId"], "failures").text, "\t")
    assert failures[1][:2] == ["999999", "Nobody"]
    assert failures[1][2] == "Lead not found"
    updated = lead_by_email(sandbox_server, known["email"])
    assert updated is not None
    assert updated["lastName"] == "ViaTsv"


def test_request_level_refusals(imports: Imports, sandbox: SandboxControl) -> None:
    no_format = imports.session.post(
        f"{imports.base}/bulk/v1/leads.json",
        files={"file": ("leads.csv", b"email\na@example.com\n", "text/csv")},
        timeout=30,
    ).json()
    assert no_format["errors"][0]["code"] == "1003"
    bad_lookup = imports.submit("email\na@example.com\n", lookupField="firstName")
    assert bad_lookup["success"] is False
    not_multipart = imports.session.post(
        f"{imports.base}/bulk/v1/leads.json?format=csv", data=b"email\n", timeout=30
    ).json()
    assert not_multipart["errors"][0]["code"] == "612"
    # Form fields work as well as query parameters (curl -F format=csv).
    as_form = imports.session.post(
        f"{imports.base}/bulk/v1/leads.json",
        data={"format": "csv"},
        files={"file": ("leads.csv", b"email\nform.field@example.com\n", "text/csv")},
        timeout=30,
    ).json()
    assert as_form["success"], as_form


def test_eleventh_import_is_too_many_imports(imports: Imports, sandbox: SandboxControl) -> None:
    sandbox.configure(import_processing_seconds=600)
    batch_ids = []
    for i in range(10):
        reply = imports.submit(f"email\nqueue{i}@example.com\n")
        assert reply["success"], reply
        batch_ids.append(reply["result"][0]["batchId"])
    refused = imports.submit("email\nqueue10@example.com\n")
    assert refused["success"] is False
    assert refused["errors"] == [{"code": "1016", "message": "Too many imports"}]
    time.sleep(0.3)
    states = [imports.status(b)["status"] for b in batch_ids]
    assert states.count("Importing") == 2
    assert states.count("Queued") == 8
    sandbox.configure(import_processing_seconds=0)
    assert {imports.wait(b)["status"] for b in batch_ids} == {"Complete"}
    assert imports.submit("email\nqueue10@example.com\n")["success"]


def test_file_over_the_bulk_limit_is_413(imports: Imports, sandbox: SandboxControl) -> None:
    sandbox.configure(max_bulk_import_bytes=2_000)
    big = "email\n" + "".join(f"big{i}@example.com\n" for i in range(200))
    reply = imports.submit_raw(big)
    assert reply.status_code == 413
    small = imports.submit_raw("email\nsmall@example.com\n")
    assert small.status_code == 200
    # The bulk limit, not the 1 MB REST limit, applies to this route.
    sandbox.configure(max_bulk_import_bytes=10_485_760)
    large = "email,lastName\n" + "".join(f"l{i}@example.com,{'x' * 40}\n" for i in range(25_000))
    assert len(large) > 1_048_576
    assert imports.submit_raw(large).status_code == 200


def test_ground_truth_lists_import_batches(imports: Imports, sandbox: SandboxControl) -> None:
    done = imports.run("email\ntruth@example.com\n", partitionName="Default")
    batches = {b["batchId"]: b for b in sandbox.objects("import_batches")}
    assert batches[done["batchId"]]["status"] == "Complete"
    assert batches[done["batchId"]]["partitionName"] == "Default"


def test_marketorestpython_imports_leads(
    imports: Imports, sandbox_info: dict[str, str], sandbox_server: SandboxServer, tmp_path: Path
) -> None:
    client_module = pytest.importorskip("marketorestpython.client")
    client = client_module.MarketoClient(
        "123-ABC-456", sandbox_info["client_id"], sandbox_info["client_secret"], max_retry_time=5
    )
    client.host = sandbox_info["endpoint"]
    path = tmp_path / "leads.csv"
    path.write_text(
        "email,firstName\nmrp.one@example.com,Mrp\nbroken,row,extra\n", encoding="utf-8"
    )
    batch = client.execute(method="import_lead", file=str(path), format="csv", lookupField="email")
    batch_id = batch[0]["batchId"]
    deadline = time.monotonic() + 30
    while True:
        status = client.execute(method="get_import_lead_status", id=batch_id)[0]
        if status["status"] in ("Complete", "Failed") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status["status"] == "Complete"
    assert status["numOfRowsFailed"] == 1
    failures = client.execute(method="get_import_failure_file", id=batch_id)
    assert rows_of(failures)[1][:3] == ["broken", "row", "extra"]
    assert lead_by_email(sandbox_server, "mrp.one@example.com") is not None


# -- program member import -------------------------------------------------------------


def member_of(server: SandboxServer, program_id: int, lead_id: int) -> dict[str, Any] | None:
    return Fixtures(server).program_member_record(program_id, lead_id)


def a_program(server: SandboxServer, channel: str) -> dict[str, Any]:
    assert server.store is not None
    for row in server.store.query("SELECT data FROM objects WHERE kind='programs' ORDER BY pk"):
        prog = json.loads(row["data"])
        if prog["channel"] == channel:
            return dict(prog)
    raise AssertionError(f"no seeded {channel} program")


def submit_members(
    imports: Imports, program_id: int, text: str, **params: Any
) -> requests.Response:
    params.setdefault("format", "csv")
    return imports.session.post(
        f"{imports.base}/bulk/v1/program/{program_id}/members/import.json",
        params=params,
        files={"file": ("members.csv", text.encode(), "text/csv")},
        timeout=60,
    )


def wait_for(imports: Imports, path: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        body = imports.session.get(f"{imports.base}{path}", timeout=30).json()
        assert body["success"], body
        status = dict(body["result"][0])
        if status["status"] in ("Complete", "Failed"):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def test_program_member_import_adds_members_at_the_status(
    imports: Imports, sandbox_server: SandboxServer
) -> None:
    webinar = a_program(sandbox_server, "Webinar")
    known = existing_lead(sandbox_server)
    text = (
        "email,firstName,lastName,registrationCode,questionsAsked\n"
        "pm.new@example.com,New,Member,REG-1,3\n"
        f"{known['email']},,Renamed-By-Member-Import,REG-2,lots\n"
        ",No,Email,REG-3,1\n"
    )
    reply = submit_members(imports, webinar["id"], text, programMemberStatus="registered")
    assert reply.status_code == 200
    body = reply.json()
    assert body["success"], body
    first = body["result"][0]
    assert set(first) == {"batchId", "importId", "status"}
    assert first["status"] == "Queued"

    done = wait_for(imports, f"/bulk/v1/program/members/import/{first['batchId']}/status.json")
    assert done == {
        "batchId": first["batchId"],
        "importId": str(first["batchId"]),
        "status": "Complete",
        "numOfLeadsProcessed": 2,
        "numOfRowsFailed": 1,
        "numOfRowsWithWarning": 1,
        "message": "Import completed with errors, 2 records imported (2 members), 1 failed",
    }
    new_lead = lead_by_email(sandbox_server, "pm.new@example.com")
    assert new_lead is not None
    assert new_lead["acquisitionProgramId"] == webinar["id"]
    member = member_of(sandbox_server, webinar["id"], new_lead["id"])
    assert member is not None
    assert member["statusName"] == "Registered"
    assert (member["registrationCode"], member["questionsAsked"]) == ("REG-1", 3)
    assert member["acquiredBy"] is True

    updated = lead_by_email(sandbox_server, known["email"])
    assert updated is not None
    assert updated["lastName"] == "Renamed-By-Member-Import"
    assert updated["firstName"] == known.get("firstName")
    known_member = member_of(sandbox_server, webinar["id"], known["id"])
    assert known_member is not None
    assert known_member["registrationCode"] == "REG-2"
    assert "questionsAsked" not in known_member or known_member["questionsAsked"] != "lots"

    changes = Fixtures(sandbox_server).activities(new_lead["id"], 104)
    assert [c["primaryAttributeValueId"] for c in changes] == [webinar["id"]]

    base = f"/bulk/v1/program/members/import/{first['batchId']}"
    failures = rows_of(imports.session.get(f"{imports.base}{base}/failures.json", timeout=30).text)
    assert failures[0][-1] == "Import Failure Reason"
    assert failures[1][:-1] == ["", "No", "Email", "REG-3", "1"]
    assert "email" in failures[1][-1]
    warnings = rows_of(imports.session.get(f"{imports.base}{base}/warnings.json", timeout=30).text)
    assert warnings[1][:-1] == [known["email"], "", "Renamed-By-Member-Import", "REG-2", "lots"]
    assert "questionsAsked" in warnings[1][-1]


def test_program_member_import_never_moves_a_member_back(
    imports: Imports, sandbox_server: SandboxServer
) -> None:
    webinar = a_program(sandbox_server, "Webinar")
    text = "email\npm.progress@example.com\n"
    first = submit_members(imports, webinar["id"], text, programMemberStatus="Attended").json()
    done = wait_for(
        imports, f"/bulk/v1/program/members/import/{first['result'][0]['batchId']}/status.json"
    )
    assert done["numOfLeadsProcessed"] == 1
    again = submit_members(imports, webinar["id"], text, programMemberStatus="Invited").json()
    batch_id = again["result"][0]["batchId"]
    done = wait_for(imports, f"/bulk/v1/program/members/import/{batch_id}/status.json")
    assert (done["numOfLeadsProcessed"], done["numOfRowsFailed"]) == (1, 0)
    assert done["numOfRowsWithWarning"] == 1
    lead = lead_by_email(sandbox_server, "pm.progress@example.com")
    assert lead is not None
    member = member_of(sandbox_server, webinar["id"], lead["id"])
    assert member is not None
    assert member["statusName"] == "Attended"
    warnings = rows_of(
        imports.session.get(
            f"{imports.base}/bulk/v1/program/members/import/{batch_id}/warnings.json", timeout=30
        ).text
    )
    assert "status unchanged" in warnings[1][-1]


def test_program_member_import_refusals(imports: Imports, sandbox_server: SandboxServer) -> None:
    webinar = a_program(sandbox_server, "Webinar")
    text = "email\nrefused@example.com\n"
    no_status = submit_members(imports, webinar["id"], text).json()
    assert no_status["errors"][0]["code"] == "1003"
    unknown_program = submit_members(imports, 987654, text, programMemberStatus="Registered")
    assert unknown_program.json()["errors"][0]["code"] == "1013"
    bad_status = submit_members(imports, webinar["id"], text, programMemberStatus="Engaged")
    assert bad_status.json()["errors"][0]["code"] == "1025"
    no_format = imports.session.post(
        f"{imports.base}/bulk/v1/program/{webinar['id']}/members/import.json",
        params={"programMemberStatus": "Registered"},
        files={"file": ("members.csv", text.encode(), "text/csv")},
        timeout=30,
    ).json()
    assert no_format["errors"][0]["code"] == "1003"
    not_multipart = imports.session.post(
        f"{imports.base}/bulk/v1/program/{webinar['id']}/members/import.json",
        params={"format": "csv", "programMemberStatus": "Registered"},
        data=b"email\n",
        timeout=30,
    ).json()
    assert not_multipart["errors"][0]["code"] == "612"
    # A file without the email column (the dedupe key) fails as a whole.
    reply = submit_members(
        imports, webinar["id"], "firstName\nNoKey\n", programMemberStatus="Registered"
    ).json()
    failed = wait_for(
        imports, f"/bulk/v1/program/members/import/{reply['result'][0]['batchId']}/status.json"
    )
    assert failed["status"] == "Failed"
    assert "email" in failed["message"]
    # A lead batch is not a program member batch.
    lead_batch = imports.run("email\nnot.a.member@example.com\n")["batchId"]
    other = imports.session.get(
        f"{imports.base}/bulk/v1/program/members/import/{lead_batch}/status.json", timeout=30
    ).json()
    assert other["success"] is False


# -- custom object import --------------------------------------------------------------


def car(server: SandboxServer, vin: str) -> dict[str, Any] | None:
    assert server.store is not None
    rows = server.store.query(
        "SELECT data FROM objects WHERE kind='customobjects/car_c' "
        "AND json_extract(data, '$.vin')=?",
        (vin,),
    )
    return json.loads(rows[0]["data"]) if rows else None


def submit_objects(imports: Imports, api_name: str, text: str, fmt: str = "csv") -> dict[str, Any]:
    reply = imports.session.post(
        f"{imports.base}/bulk/v1/customobjects/{api_name}/import.json",
        params={"format": fmt},
        files={"file": ("objects.csv", text.encode(), "text/csv")},
        timeout=60,
    )
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def test_custom_object_import_inserts_and_updates_by_dedupe_fields(
    imports: Imports, sandbox_server: SandboxServer
) -> None:
    assert sandbox_server.store is not None
    seeded = json.loads(
        sandbox_server.store.query(
            "SELECT data FROM objects WHERE kind='customobjects/car_c' ORDER BY rowid LIMIT 1"
        )[0]["data"]
    )
    lead_id = existing_lead(sandbox_server)["id"]
    text = (
        "vin,leadId,make,model,year,isLeased\n"
        f"IMPORT-VIN-1,{lead_id},Tesla,Model Y,2025,true\n"
        f"{seeded['vin']},,,Renamed,,\n"
        f"IMPORT-VIN-2,{lead_id},Ford,Focus,new,false\n"
        "IMPORT-VIN-3,999999999,Ford,Focus,2020,false\n"
        ",1,Ford,Focus,2020,false\n"
    )
    body = submit_objects(imports, "car_c", text)
    assert body["success"], body
    first = body["result"][0]
    assert first == {
        "batchId": first["batchId"],
        "operation": "import",
        "status": "Queued",
        "objectApiName": "car_c",
    }
    base = f"/bulk/v1/customobjects/car_c/import/{first['batchId']}"
    done = wait_for(imports, f"{base}/status.json")
    assert done == {
        "batchId": first["batchId"],
        "operation": "import",
        "status": "Complete",
        "objectApiName": "car_c",
        "numOfObjectsProcessed": 3,
        "numOfRowsFailed": 2,
        "numOfRowsWithWarning": 1,
        "message": "Import completed with errors, 3 records imported, 2 failed",
    }
    created = car(sandbox_server, "IMPORT-VIN-1")
    assert created is not None
    assert (created["leadId"], created["make"], created["year"], created["isLeased"]) == (
        lead_id,
        "Tesla",
        2025,
        True,
    )
    assert created["marketoGUID"]
    renamed = car(sandbox_server, seeded["vin"])
    assert renamed is not None
    assert renamed["marketoGUID"] == seeded["marketoGUID"]
    assert renamed["model"] == "Renamed"
    assert renamed["make"] == seeded["make"]  # an empty cell leaves the field alone
    warned = car(sandbox_server, "IMPORT-VIN-2")
    assert warned is not None
    assert "year" not in warned
    assert car(sandbox_server, "IMPORT-VIN-3") is None

    failures = rows_of(imports.session.get(f"{imports.base}{base}/failures.json", timeout=30).text)
    assert [r[0] for r in failures[1:]] == ["IMPORT-VIN-3", ""]
    assert failures[1][-1] == "Lead not found"
    assert "vin" in failures[2][-1]
    warnings = rows_of(imports.session.get(f"{imports.base}{base}/warnings.json", timeout=30).text)
    assert warnings[1][0] == "IMPORT-VIN-2"
    assert "year" in warnings[1][-1]


def test_custom_object_import_tsv_unknown_columns_and_types(
    imports: Imports, sandbox_server: SandboxServer
) -> None:
    assert sandbox_server.store is not None
    company = next(iter(sandbox_server.store.objects("companies")))
    text = f"subscriptionId\texternalCompanyId\tseats\nSUB-1\t{company['externalCompanyId']}\t7\n"
    body = submit_objects(imports, "subscription_c", text, fmt="tsv")
    batch_id = body["result"][0]["batchId"]
    done = wait_for(imports, f"/bulk/v1/customobjects/subscription_c/import/{batch_id}/status.json")
    assert (done["status"], done["numOfObjectsProcessed"]) == ("Complete", 1)
    # The batch belongs to its object: another apiName does not see it.
    elsewhere = imports.session.get(
        f"{imports.base}/bulk/v1/customobjects/car_c/import/{batch_id}/status.json", timeout=30
    ).json()
    assert elsewhere["success"] is False

    unknown_column = submit_objects(imports, "car_c", "vin,wheels\nX-1,4\n")
    failed = wait_for(
        imports,
        f"/bulk/v1/customobjects/car_c/import/{unknown_column['result'][0]['batchId']}/status.json",
    )
    assert failed["status"] == "Failed"
    assert "wheels" in failed["message"]
    unknown_type = submit_objects(imports, "boat_c", "vin\nX-1\n")
    assert unknown_type["success"] is False
    assert unknown_type["errors"][0]["code"] == "1003"


def test_import_queues_are_counted_per_kind(
    imports: Imports, sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    sandbox.configure(import_processing_seconds=600)
    for i in range(10):
        assert imports.submit(f"email\nkind{i}@example.com\n")["success"]
    assert imports.submit("email\nkind10@example.com\n")["errors"][0]["code"] == "1016"
    # Lead batches filling their queue leave the other import kinds alone.
    objects = submit_objects(imports, "car_c", "vin\nQUEUE-VIN\n")
    assert objects["success"], objects
    webinar = a_program(sandbox_server, "Webinar")
    members = submit_members(
        imports, webinar["id"], "email\nkind.member@example.com\n", programMemberStatus="Invited"
    ).json()
    assert members["success"], members
    time.sleep(0.3)
    status = imports.session.get(
        f"{imports.base}/bulk/v1/program/members/import/{members['result'][0]['batchId']}"
        "/status.json",
        timeout=30,
    ).json()["result"][0]
    assert status["status"] == "Importing"
    sandbox.configure(import_processing_seconds=0)
    kinds = {b["kind"] for b in sandbox.objects("import_batches")}
    assert kinds == {"leads", "program_members", "custom_objects"}
