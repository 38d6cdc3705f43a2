"""The ``second-level-objects`` profile: a custom object linked to another custom object
(``serviceVisit_c`` -> ``car_c`` by VIN) and one linked to companies (``subscription_c``).
Bulk export serves only first-level custom objects linked to leads (docs/MARKETO.md
section 9): the others are refused at create and read over REST.
"""

from __future__ import annotations

from typing import Any

import pytest
from marketo_sandbox import SandboxServer
from marketo_sandbox.testing import SandboxApi, SandboxControl

VISITS = "serviceVisit_c"
EXPORT_BODY = {
    "fields": ["marketoGUID"],
    "filter": {"updatedAt": {"startAt": "2026-01-01T00:00:00Z", "endAt": "2026-01-31T00:00:00Z"}},
}


@pytest.fixture
def api(sandbox_info: dict[str, str]) -> SandboxApi:
    return SandboxApi(sandbox_info)


def _error(body: dict[str, Any]) -> tuple[bool, str | None]:
    return body["success"], (body.get("errors") or [{}])[0].get("code")


def test_second_level_type_exists_only_with_the_profile(
    sandbox: SandboxControl, api: SandboxApi
) -> None:
    names = [t["name"] for t in api.get("/rest/v1/customobjects.json")["result"]]
    assert VISITS not in names
    assert _error(api.get(f"/rest/v1/customobjects/{VISITS}/describe.json")) == (False, "1003")
    sandbox.use_profiles("second-level-objects")
    listed = {t["name"]: t for t in api.get("/rest/v1/customobjects.json")["result"]}
    assert listed[VISITS]["relationships"] == [
        {"field": "carVin", "type": "child", "relatedTo": {"name": "car_c", "field": "vin"}}
    ]
    assert listed["subscription_c"]["relationships"][0]["relatedTo"]["name"] == "Company"
    described = api.get(f"/rest/v1/customobjects/{VISITS}/describe.json")["result"][0]
    assert ["carVin"] in described["searchableFields"]


def test_rest_reads_by_link_field_return_the_seeded_records(
    sandbox: SandboxControl, api: SandboxApi
) -> None:
    sandbox.use_profiles("second-level-objects")
    visits = sandbox.objects(f"customobjects/{VISITS}")
    cars = {c["vin"] for c in sandbox.objects("customobjects/car_c")}
    assert visits, "the seed should hold service visits"
    # Every visit hangs off a car that exists (seeded after deletes and merges).
    assert {v["carVin"] for v in visits} <= cars
    vins = sorted({v["carVin"] for v in visits})[:20]
    reply = api.get(
        f"/rest/v1/customobjects/{VISITS}.json",
        filterType="carVin",
        filterValues=",".join(vins),
        fields="visitId,carVin,cost,updatedAt",
    )
    assert reply["success"], reply
    got = {r["marketoGUID"]: (r["visitId"], r["carVin"], r["cost"]) for r in reply["result"]}
    want = {
        v["marketoGUID"]: (v["visitId"], v["carVin"], v["cost"])
        for v in visits
        if v["carVin"] in vins
    }
    assert got == want


@pytest.mark.parametrize(("api_name", "parent"), [(VISITS, "custom object 'car_c'"),
                                                   ("subscription_c", "a company")])
def test_bulk_export_refuses_types_not_linked_to_leads(
    sandbox: SandboxControl, api: SandboxApi, api_name: str, parent: str
) -> None:
    sandbox.use_profiles("second-level-objects")
    reply = api.post(f"/bulk/v1/customobjects/{api_name}/export/create.json", EXPORT_BODY)
    assert _error(reply) == (False, "1003")
    assert parent in reply["errors"][0]["message"]
    assert "first-level" in reply["errors"][0]["message"]
    lead_linked = api.post("/bulk/v1/customobjects/car_c/export/create.json", EXPORT_BODY)
    assert lead_linked["success"], lead_linked


def test_default_instance_keeps_exporting_company_linked_objects(
    sandbox: SandboxControl, api: SandboxApi, sandbox_server: SandboxServer
) -> None:
    reply = api.post("/bulk/v1/customobjects/subscription_c/export/create.json", EXPORT_BODY)
    assert reply["success"], reply
    # The hidden type answers as unknown, on every path.
    hidden = api.post(f"/bulk/v1/customobjects/{VISITS}/export/create.json", EXPORT_BODY)
    assert _error(hidden) == (False, "1003")
    assert "Invalid custom object type" in hidden["errors"][0]["message"]
