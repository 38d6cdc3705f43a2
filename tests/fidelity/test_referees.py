"""The sandbox against facts recorded from real instances by other clients (``referees``).

One test per fact, named ``test_fact_<name>``; facts that hold on every instance are
checked under the default setup and under legacy-csv, legacy facts under legacy-csv (and
the default's newer spelling where the fact has one).
"""

from __future__ import annotations

import io
import re
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from fidelity_support import RawApi, poll, read_bulk_csv
from marketo_core import iter_csv_rows
from marketo_sandbox.profiles import LEGACY_CSV
from marketo_sandbox.testing import SandboxControl
from referees import ANY, DEFAULT, FACTS, LEGACY, REQUEST_ID, fact

PROFILES = {"default": (), "legacy-csv": (LEGACY_CSV,)}


@pytest.fixture(params=sorted(PROFILES))
def setup(request: pytest.FixtureRequest, sandbox: SandboxControl) -> str:
    """Every-instance facts hold under both setups."""
    sandbox.configure(rate_limit_calls=5_000)
    sandbox.use_profiles(*PROFILES[request.param])
    return str(request.param)


@pytest.fixture
def legacy(sandbox: SandboxControl) -> SandboxControl:
    sandbox.configure(rate_limit_calls=5_000)
    sandbox.use_profiles(LEGACY_CSV)
    return sandbox


@pytest.fixture
def api(sandbox_info: dict[str, str]) -> Iterator[RawApi]:
    client = RawApi(sandbox_info)
    yield client
    client.close()


def _export_file(api: RawApi, entity: str, body: dict[str, Any]) -> requests.Response:
    created = api.ok("POST", f"/bulk/v1/{entity}/export/create.json", json=body)
    export_id = created["result"][0]["exportId"]
    api.ok("POST", f"/bulk/v1/{entity}/export/{export_id}/enqueue.json")
    poll(
        lambda: api.ok("GET", f"/bulk/v1/{entity}/export/{export_id}/status.json"),
        lambda body: body["result"][0]["status"] == "Completed",
    )
    reply = api.call("GET", f"/bulk/v1/{entity}/export/{export_id}/file.json")
    assert reply.status_code == 200, reply.text[:300]
    return reply


def _window(end: datetime, days: int = 31) -> dict[str, str]:
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    start = datetime.fromtimestamp(end.timestamp() - days * 86_400 + 1, UTC)
    return {"startAt": start.strftime(fmt), "endAt": end.strftime(fmt)}


def _lead_file(api: RawApi, anchor: dict[str, Any], fields: list[str]) -> requests.Response:
    """The leads created in the 31 days up to ``anchor``'s creation (anchor included)."""
    end = datetime.strptime(anchor["createdAt"][:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return _export_file(
        api, "leads", {"fields": fields, "format": "CSV", "filter": {"createdAt": _window(end)}}
    )


def _newest(leads: list[dict[str, Any]]) -> dict[str, Any]:
    return max(leads, key=lambda lead: lead["createdAt"])


def _member_file(api: RawApi, sandbox: SandboxControl) -> requests.Response:
    members = sandbox.objects("program_members")
    program_ids = sorted({m["programId"] for m in members})[:10]
    fields = ["leadId", "programId", "reachedSuccess", "isExhausted", "acquiredBy", "statusName"]
    return _export_file(
        api,
        "program/members",
        {"fields": fields, "format": "CSV", "filter": {"programIds": program_ids}},
    )


# -- the table itself ------------------------------------------------------------------------


def test_every_fact_has_a_source_with_commit_and_license_and_a_test() -> None:
    module = sys.modules[__name__]
    for item in FACTS:
        assert item.applies in (ANY, LEGACY, DEFAULT), item.name
        assert item.sources, item.name
        for source in item.sources:
            assert re.fullmatch(r"[0-9a-f]{40}", source.commit), source
            assert source.license, source
            assert source.repository.count("/") == 1, source
        assert hasattr(module, "test_fact_" + item.name.replace("-", "_")), item.name


# -- identity ----------------------------------------------------------------------------------


def test_fact_json_content_type(setup: str, api: RawApi, sandbox: SandboxControl) -> None:
    wanted = fact("json-content-type").observed
    lead_id = sandbox.objects("leads")[0]["id"]
    answers = [
        api.identity(),
        api.call(
            "GET", "/rest/v1/leads.json", params={"filterType": "id", "filterValues": lead_id}
        ),
        api.call("GET", "/rest/asset/v1/programs.json", params={"maxReturn": 1}),
        api.call("GET", "/rest/v1/leads.json"),  # a request-level failure (1003)
    ]
    for reply in answers:
        assert reply.headers["Content-Type"] == wanted, (reply.url, reply.headers)


def test_fact_token_no_cache(setup: str, api: RawApi) -> None:
    reply = api.identity()
    for name, value in fact("token-no-cache").observed.items():
        assert reply.headers.get(name) == value, reply.headers


def test_fact_token_body(setup: str, api: RawApi, sandbox: SandboxControl) -> None:
    body = api.identity().json()
    assert tuple(body) == fact("token-body").observed
    assert body["token_type"] == "bearer"
    assert type(body["expires_in"]) is int
    assert body["scope"] == sandbox.config()["api_user"]


def test_fact_token_reuse(setup: str, api: RawApi) -> None:
    recorded = fact("token-reuse").observed
    first = api.identity().json()
    # A token just minted reports what the recordings' first answer does.
    assert first["expires_in"] == recorded[0]
    time.sleep(1.1)
    second = api.identity().json()
    assert second["access_token"] == first["access_token"]
    assert second["expires_in"] < first["expires_in"]


# -- envelopes ---------------------------------------------------------------------------------


def test_fact_request_id(setup: str, api: RawApi, sandbox: SandboxControl) -> None:
    hex_ms, iso = fact("request-id").observed
    # The recorded example decodes to its answer's Date: the rule this test applies.
    recorded = datetime.fromtimestamp(int(hex_ms, 16) / 1000, UTC)
    assert recorded.strftime("%Y-%m-%dT%H:%M:%SZ") == iso
    lead_id = sandbox.objects("leads")[0]["id"]
    seen = set()
    for _ in range(5):
        before = time.time()
        body = api.ok(
            "GET", "/rest/v1/leads.json", params={"filterType": "id", "filterValues": lead_id}
        )
        after = time.time()
        request_id = body["requestId"]
        assert REQUEST_ID.match(request_id), request_id
        millis = int(request_id.split("#")[1], 16) / 1000
        assert before - 1 <= millis <= after + 1, (request_id, before, after)
        seen.add(request_id)
    assert len(seen) == 5


def test_fact_lead_db_envelope(setup: str, api: RawApi, sandbox: SandboxControl) -> None:
    lead_id = sandbox.objects("leads")[0]["id"]
    body = api.ok(
        "GET", "/rest/v1/leads.json", params={"filterType": "id", "filterValues": lead_id}
    )
    assert tuple(body) == fact("lead-db-envelope").observed


def test_fact_asset_envelope(setup: str, api: RawApi, sandbox: SandboxControl) -> None:
    order, warning = fact("asset-envelope").observed
    name = sandbox.objects("programs")[0]["name"]
    found = api.ok("GET", "/rest/asset/v1/program/byName.json", params={"name": name})
    assert tuple(found) == order
    assert found["errors"] == []
    assert found["warnings"] == []
    missing = api.ok(
        "GET", "/rest/asset/v1/program/byName.json", params={"name": "no such program here"}
    )
    assert tuple(missing) == order[:4]
    assert missing["warnings"] == [warning]


def test_fact_timestamps(setup: str, api: RawApi, sandbox: SandboxControl) -> None:
    lead_time, asset_time = fact("timestamps").observed
    lead_id = sandbox.objects("leads")[0]["id"]
    lead = api.ok(
        "GET", "/rest/v1/leads.json", params={"filterType": "id", "filterValues": lead_id}
    )["result"][0]
    assert re.match(lead_time, lead["createdAt"])
    assert re.match(lead_time, lead["updatedAt"])
    name = sandbox.objects("programs")[0]["name"]
    found = api.ok("GET", "/rest/asset/v1/program/byName.json", params={"name": name})
    assert re.match(asset_time, found["result"][0]["createdAt"]), found


def test_fact_page_token(setup: str, api: RawApi, sandbox: SandboxControl) -> None:
    alphabet, order = fact("page-token").observed
    assert len(sandbox.objects("lists")) > 1
    page = api.ok("GET", "/rest/v1/lists.json", params={"batchSize": 1})
    assert tuple(page) == order
    token = page["nextPageToken"]
    assert re.match(alphabet, token), token
    assert len(token) % 8 == 0, token
    following = api.ok(
        "GET", "/rest/v1/lists.json", params={"batchSize": 1, "nextPageToken": token}
    )
    assert following["result"][0]["id"] != page["result"][0]["id"]


def test_fact_remove_from_list_not_member(
    setup: str, api: RawApi, sandbox: SandboxControl
) -> None:
    status, code, message = fact("remove-from-list-not-member").observed
    list_id = sandbox.objects("lists")[0]["id"]
    members = {m["leadId"] for m in sandbox.objects("list_members") if m["listId"] == list_id}
    outsider = next(lead["id"] for lead in sandbox.objects("leads") if lead["id"] not in members)
    body = api.ok("DELETE", f"/rest/v1/lists/{list_id}/leads.json", params={"id": outsider})
    assert body["result"] == [
        {"id": outsider, "status": status, "reasons": [{"code": code, "message": message}]}
    ]


def test_fact_rest_json_types(setup: str, api: RawApi, sandbox: SandboxControl) -> None:
    empty, boolean = fact("rest-json-types").observed
    lead = next(
        r for r in sandbox.objects("leads") if r.get("middleName") is None and "isCustomer" in r
    )
    got = api.ok(
        "GET",
        "/rest/v1/leads.json",
        params={"filterType": "id", "filterValues": lead["id"], "fields": "middleName,isCustomer"},
    )["result"][0]
    assert got["middleName"] is empty
    assert type(got["isCustomer"]) is type(boolean)


# -- bulk files --------------------------------------------------------------------------------


def test_fact_lead_file_values(setup: str, api: RawApi, sandbox: SandboxControl) -> None:
    spellings = set(fact("lead-file-values").observed)
    leads = sandbox.objects("leads")
    fields = ["id", "unsubscribed", "isCustomer", "middleName", "createdAt"]
    reply = _lead_file(api, _newest(leads), fields)
    rows = read_bulk_csv(reply.content)
    assert {r["unsubscribed"] for r in rows} | {r["isCustomer"] for r in rows} <= spellings
    assert {r["isCustomer"] for r in rows} == {"true", "false"}
    assert "null" in {r["middleName"] for r in rows}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["createdAt"]) for r in rows)


def test_fact_activity_file(setup: str, api: RawApi) -> None:
    header = fact("activity-file").observed
    reply = _export_file(
        api, "activities", {"format": "CSV", "filter": {"createdAt": _window(datetime.now(UTC))}}
    )
    text = reply.content.decode("utf-8")
    assert text.split("\n", 1)[0] == header
    # The attributes cell: quoted, its quotes doubled (RFC 4180), under every profile.
    attributes = re.search(r',"(\{.*?\})"\n', text)
    assert attributes is not None, text[:500]
    assert attributes.group(1).startswith('{""')


def test_fact_member_file_booleans(
    legacy: SandboxControl, api: RawApi, sandbox_info: dict[str, str]
) -> None:
    observed = fact("member-file-booleans").observed
    rows = read_bulk_csv(_member_file(api, legacy).content)
    for column in observed:
        assert {r[column] for r in rows} <= {"0", "1"}, column
    assert {r["reachedSuccess"] for r in rows} == {"0", "1"}
    # The same instance's lead files keep true/false.
    newest = _newest(legacy.objects("leads"))
    leads = read_bulk_csv(_lead_file(api, newest, ["id", "isCustomer"]).content)
    assert {r["isCustomer"] for r in leads} == {"true", "false"}
    # Off the profile, member files spell booleans like every other file.
    legacy.use_profiles()
    rows = read_bulk_csv(_member_file(api, legacy).content)
    assert {r["reachedSuccess"] for r in rows} == {"true", "false"}


def test_fact_file_content_type(setup: str, api: RawApi, sandbox: SandboxControl) -> None:
    wanted = fact("file-content-type").observed[LEGACY if setup == LEGACY_CSV else DEFAULT]
    reply = _lead_file(api, _newest(sandbox.objects("leads")), ["id", "email"])
    assert reply.headers["Content-Type"] == wanted


def test_fact_bare_quotes(legacy: SandboxControl, api: RawApi) -> None:
    value, spelled = fact("bare-quotes").observed
    assert spelled == f'"{value}"'
    every = {r["id"]: r for r in legacy.objects("leads")}
    quoted = [r for r in every.values() if '"' in str(r.get("productInterestNotes"))]
    assert quoted, "the seed has notes with quotes"
    anchor = _newest(quoted)
    reply = _lead_file(api, anchor, ["id", "productInterestNotes"])
    text = reply.content.decode("utf-8")
    assert '"ops"' in text or '"lunch"' in text
    assert '""ops""' not in text
    assert '""lunch""' not in text
    # A reader that knows the spelling gets every value back whole.
    parsed = {
        int(str(r["id"])): r["productInterestNotes"]
        for r in iter_csv_rows(_bytes_io(reply.content))
    }
    assert anchor["id"] in parsed
    assert parsed == {i: every[i].get("productInterestNotes") for i in parsed}
    # The default setup escapes the same cells as RFC 4180 says.
    legacy.use_profiles()
    text = _lead_file(api, anchor, ["id", "productInterestNotes"]).content.decode("utf-8")
    assert '""ops""' in text or '""lunch""' in text


def _bytes_io(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)
