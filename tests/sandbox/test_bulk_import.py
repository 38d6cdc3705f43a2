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
from marketo_sandbox.testing import SandboxControl

ADD_TO_LIST = 24


class Imports:
    def __init__(self, info: dict[str, str]) -> None:
        self.info = info
        self.url = info["endpoint"]
        self.session = requests.Session()
        reply = requests.get(
            f"{self.url}/identity/oauth/token",
            params={
                "grant_type": "client_credentials",
                "client_id": info["client_id"],
                "client_secret": info["client_secret"],
            },
            timeout=30,
        )
        self.session.headers["Authorization"] = "Bearer " + reply.json()["access_token"]

    def submit_raw(
        self, text: str | bytes, *, name: str = "leads.csv", **params: Any
    ) -> requests.Response:
        params.setdefault("format", "csv")
        data = text.encode() if isinstance(text, str) else text
        return self.session.post(
            f"{self.url}/bulk/v1/leads.json",
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
            f"{self.url}/bulk/v1/leads/batch/{batch_id}.json", timeout=30
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
            f"{self.url}/bulk/v1/leads/batch/{batch_id}/{which}.json", timeout=30
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
        assert st.query(
            "SELECT 1 FROM list_members WHERE listId=? AND leadId=?", (static["id"], lead["id"])
        )
        activity = st.query(
            "SELECT data FROM activities WHERE leadId=? AND activityTypeId=?",
            (lead["id"], ADD_TO_LIST),
        )
        assert len(activity) == 1
        doc = json.loads(activity[0]["data"])
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
        f"{imports.url}/bulk/v1/leads.json",
        files={"file": ("leads.csv", b"email\na@example.com\n", "text/csv")},
        timeout=30,
    ).json()
    assert no_format["errors"][0]["code"] == "1003"
    bad_lookup = imports.submit("email\na@example.com\n", lookupField="firstName")
    assert bad_lookup["success"] is False
    not_multipart = imports.session.post(
        f"{imports.url}/bulk/v1/leads.json?format=csv", data=b"email\n", timeout=30
    ).json()
    assert not_multipart["errors"][0]["code"] == "612"
    # Form fields work as well as query parameters (curl -F format=csv).
    as_form = imports.session.post(
        f"{imports.url}/bulk/v1/leads.json",
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
