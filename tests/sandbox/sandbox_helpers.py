"""Helpers the sandbox tests share: leads written straight into the store, a lead's
activities, and reading Marketo's envelope (per-record statuses, request-level errors)."""

from __future__ import annotations

from typing import Any

from marketo_sandbox import SandboxServer
from marketo_sandbox.testing import Fixtures


def make_lead(server: SandboxServer, tag: str = "crm-test", first_name: str = "Test",
              **fields: Any) -> int:
    """A lead row written through the store (the lead API is another area's), with the email
    ``<tag>-<id>@example.com``; returns its id."""
    fixtures = Fixtures(server)
    lead_id = fixtures.next_lead_id()
    return fixtures.lead(
        id=lead_id, email=f"{tag}-{lead_id}@example.com", firstName=first_name,
        lastName=f"Lead{lead_id}", **fields,
    )


def activities(server: SandboxServer, lead_id: int, type_id: int) -> list[dict[str, Any]]:
    return Fixtures(server).activities(lead_id, type_id)


def attrs(activity: dict[str, Any]) -> dict[str, Any]:
    return {a["name"]: a["value"] for a in activity["attributes"]}


def _first_reason(item: dict[str, Any]) -> str | None:
    return item["reasons"][0]["code"] if item.get("reasons") else None


def statuses(response: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(status, first reason code) per result item of a successful call."""
    assert response["success"] is True, response
    return [(r["status"], _first_reason(r)) for r in response["result"]]


def statuses_with_ids(response: dict[str, Any]) -> list[tuple[Any, str, str | None]]:
    """(id, status, first reason code) per result item of a successful call."""
    assert response["success"] is True, response
    return [(r.get("id"), r["status"], _first_reason(r)) for r in response["result"]]


def error_code(body: dict[str, Any]) -> str:
    """The code of a request-level failure (Marketo sends codes as strings)."""
    assert body["success"] is False, body
    code = body["errors"][0]["code"]
    assert isinstance(code, str), "Marketo error codes are strings"
    return code
