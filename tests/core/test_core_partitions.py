"""Which lead partitions REST reads can see: a partition out of the API role's reach and an
empty one both show no lead, so both are named; one partition alone needs no further call."""

from __future__ import annotations

from typing import Any

from core_helpers import BASE
from marketo_core import MarketoClient
from marketo_core.partitions import partitions_out_of_sight


def _partitions(requests_mock: Any, *names: str) -> Any:
    result = [{"id": i + 1, "name": n, "description": n} for i, n in enumerate(names)]
    return requests_mock.get(
        f"{BASE}/rest/v1/leads/partitions.json", json={"success": True, "result": result}
    )


def test_a_single_partition_needs_no_lead_read(client: MarketoClient, requests_mock: Any) -> None:
    _partitions(requests_mock, "Default")
    leads = requests_mock.get(f"{BASE}/rest/v1/leads.json", json={"success": True, "result": []})
    assert partitions_out_of_sight(client) == []
    assert leads.call_count == 0


def test_partitions_without_a_visible_lead_are_named(
    client: MarketoClient, requests_mock: Any
) -> None:
    _partitions(requests_mock, "Default", "EMEA", "APAC")

    def answer(request: Any, _: Any) -> dict[str, Any]:
        assert request.qs["filtertype"] == ["leadpartitionid"]
        assert request.qs["batchsize"] == ["1"]
        seen = request.qs["filtervalues"][0] in ("1", "2")
        return {"success": True, "result": [{"id": 7}] if seen else []}

    leads = requests_mock.get(f"{BASE}/rest/v1/leads.json", json=answer)
    assert partitions_out_of_sight(client) == ["APAC"]
    assert leads.call_count == 3
