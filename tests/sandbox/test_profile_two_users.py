"""The ``two-users`` profile: two API users, and bulk jobs visible to their creator only.

Marketo shows an export job's status only to the API user that created it (Adobe's bulk
extract pages, docs/MARKETO.md section 9). The sandbox answers another user's job as an
unknown one: 1003 on status, enqueue and cancel, a plain 404 on the file, left out of the
job list. Import batches follow the same rule.
"""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pytest
from marketo_sandbox import SandboxServer
from marketo_sandbox.auth import api_users
from marketo_sandbox.cli import _parser, config_from_args
from marketo_sandbox.server import SandboxServer as Server
from marketo_sandbox.testing import SandboxApi, SandboxControl
from sandbox_helpers import activities, attrs

LEADS_BODY = {
    "fields": ["id", "email"],
    "format": "CSV",
    "filter": {"createdAt": {"startAt": "2000-01-01T00:00:00Z", "endAt": "2000-01-31T00:00:00Z"}},
}


def _apis(server: SandboxServer) -> tuple[SandboxApi, SandboxApi]:
    first, second = api_users(server.config)
    base = {"endpoint": server.url, "identity": f"{server.url}/identity"}
    user_a = SandboxApi(
        {**base, "client_id": first.client_id, "client_secret": first.client_secret}
    )
    user_b = SandboxApi(
        {**base, "client_id": second.client_id, "client_secret": second.client_secret}
    )
    return user_a, user_b


@pytest.fixture
def two_users(
    sandbox: SandboxControl, sandbox_server: SandboxServer
) -> tuple[SandboxApi, SandboxApi]:
    sandbox.use_profiles("two-users")
    return _apis(sandbox_server)


def _code(body: dict[str, Any]) -> tuple[bool, str | None]:
    errors = body.get("errors") or [{}]
    return body["success"], errors[0].get("code")


def _completed(api: SandboxApi, export_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = api.get(f"/bulk/v1/leads/export/{export_id}/status.json")["result"][0]
        if status["status"] == "Completed":
            return dict(status)
        time.sleep(0.1)
    raise AssertionError(f"export {export_id} did not complete")


def test_second_user_exists_only_with_the_profile(
    sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    assert len(api_users(sandbox_server.config)) == 1
    sandbox.use_profiles("two-users")
    first, second = api_users(sandbox_server.config)
    assert second.client_id != first.client_id
    assert second.client_secret
    assert second.client_secret != first.client_secret
    # Derived from the first secret: the same server start gives the same pair.
    assert api_users(sandbox_server.config)[1] == second
    user_a, user_b = _apis(sandbox_server)
    token_a = user_a.identity().json()
    token_b = user_b.identity().json()
    assert token_a["scope"] == first.name
    assert token_b["scope"] == second.name
    assert token_a["access_token"] != token_b["access_token"]
    # Each user keeps its own current token (Marketo reuses a token until it expires).
    assert user_b.identity().json()["access_token"] == token_b["access_token"]
    # The daily usage report counts each API user's calls (one quota for the instance).
    user_b.get("/rest/v1/stats/usage.json")
    users = user_a.get("/rest/v1/stats/usage.json")["result"][0]["users"]
    assert {u["userId"]: u["count"] for u in users} == {first.name: 1, second.name: 1}
    # The config never shows either secret.
    shown = json.dumps(sandbox.config())
    assert first.client_secret not in shown
    assert second.client_secret not in shown
    sandbox.use_profiles()
    assert user_b.identity().status_code == 401


def test_export_job_is_visible_to_its_creator_only(
    two_users: tuple[SandboxApi, SandboxApi],
) -> None:
    user_a, user_b = two_users
    created = user_a.post("/bulk/v1/leads/export/create.json", LEADS_BODY)
    export_id = created["result"][0]["exportId"]
    base = f"/bulk/v1/leads/export/{export_id}"

    # Before it is queued: B can neither see nor enqueue nor cancel A's job.
    assert _code(user_b.get(f"{base}/status.json")) == (False, "1003")
    assert _code(user_b.post(f"{base}/enqueue.json")) == (False, "1003")
    assert _code(user_b.post(f"{base}/cancel.json")) == (False, "1003")
    assert user_a.get(f"{base}/status.json")["result"][0]["status"] == "Created"

    assert user_a.post(f"{base}/enqueue.json")["success"]
    status = _completed(user_a, export_id)
    assert status["numberOfRecords"] == 0 or status["fileSize"] > 0

    # Completed: still invisible to B, file included (a plain-text 404, as for any
    # unknown job), while A downloads it.
    assert _code(user_b.get(f"{base}/status.json")) == (False, "1003")
    refused = user_b.request("GET", f"{base}/file.json")
    assert refused.status_code == 404
    assert user_a.request("GET", f"{base}/file.json").status_code == 200

    # The job list shows each user its own jobs only.
    mine = user_b.post("/bulk/v1/leads/export/create.json", LEADS_BODY)["result"][0]["exportId"]
    listed_a = {j["exportId"] for j in user_a.get("/bulk/v1/leads/export.json")["result"]}
    listed_b = {j["exportId"] for j in user_b.get("/bulk/v1/leads/export.json")["result"]}
    assert export_id in listed_a
    assert mine not in listed_a
    assert listed_b == {mine}


def test_jobs_are_shared_without_the_profile(
    sandbox: SandboxControl, sandbox_server: SandboxServer, two_users: tuple[SandboxApi, SandboxApi]
) -> None:
    user_a, _ = two_users
    export_id = user_a.post("/bulk/v1/leads/export/create.json", LEADS_BODY)["result"][0][
        "exportId"
    ]
    sandbox.use_profiles()  # back to one user: every job is that user's
    fresh = SandboxApi(sandbox_server.info())
    assert fresh.get(f"/bulk/v1/leads/export/{export_id}/status.json")["success"]


def test_import_batch_is_visible_to_its_creator_only(
    two_users: tuple[SandboxApi, SandboxApi],
) -> None:
    user_a, user_b = two_users
    upload = user_a.request(
        "POST",
        "/bulk/v1/leads.json",
        data={"format": "csv"},
        files={"file": ("leads.csv", io.BytesIO(b"email,firstName\ntwo-users@example.com,Ann\n"))},
    ).json()
    assert upload["success"], upload
    batch_id = upload["result"][0]["batchId"]
    base = f"/bulk/v1/leads/batch/{batch_id}"
    assert user_a.get(f"{base}.json")["success"]
    assert _code(user_b.get(f"{base}.json")) == (False, "1003")
    assert _code(user_b.request("GET", f"{base}/failures.json").json()) == (False, "1003")
    assert _code(user_b.request("GET", f"{base}/warnings.json").json()) == (False, "1003")


def test_serve_prints_both_pairs_with_the_profile() -> None:
    args = _parser().parse_args(
        ["serve", "--profile", "two-users", "--client-secret", "first-secret"]
    )
    config = config_from_args(args)
    with Server(config, seed="empty") as server:
        info = server.info()
    users = info["api_users"]
    assert [u["client_id"] for u in users] == [config.client_id, config.second_client_id]
    assert users[0]["client_secret"] == "first-secret"
    assert users[1]["client_secret"] == api_users(config)[1].client_secret != "first-secret"
    plain = config_from_args(_parser().parse_args(["serve"]))
    with Server(plain, seed="empty") as server:
        assert "api_users" not in server.info()


def test_activities_name_the_api_user_whose_call_logged_them(
    two_users: tuple[SandboxApi, SandboxApi], sandbox_server: SandboxServer
) -> None:
    user_a, user_b = two_users
    first, second = api_users(sandbox_server.config)
    created = user_b.post(
        "/rest/v1/leads.json",
        {"action": "createOnly", "input": [{"email": "modifier@example.com"}]},
    )["result"][0]
    lead_id = created["id"]
    for api, title in ((user_a, "Analyst"), (user_b, "Director")):
        updated = api.post(
            "/rest/v1/leads.json",
            {
                "action": "updateOnly",
                "lookupField": "id",
                "input": [{"id": lead_id, "title": title}],
            },
        )
        assert updated["result"][0]["status"] == "updated", updated
    changes = {
        attrs(a)["New Value"]: attrs(a)["Modifying User"]
        for a in activities(sandbox_server, lead_id, 13)
        if attrs(a).get("Modifying User")
    }
    assert changes["Analyst"] == first.name
    assert changes["Director"] == second.name
    static = user_b.get("/rest/v1/lists.json")["result"][0]
    added = user_b.post(f"/rest/v1/lists/{static['id']}/leads.json", {"input": [{"id": lead_id}]})
    assert added["success"], added
    [add_to_list] = activities(sandbox_server, lead_id, 24)
    assert attrs(add_to_list)["Modifying User"] == second.name
