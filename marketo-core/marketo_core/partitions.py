"""Lead partitions, and which of them REST reads can see (docs/MARKETO.md section 9).

An API user's role reaches the leads of the partitions its workspaces hold; Marketo's
REST lead reads (by filter, activities, memberships) leave every other lead out, while
bulk exports serve them all. Nothing in the API says which partitions a role reaches, and
over REST a partition out of reach looks exactly like an empty one: both show no lead.
"""

from __future__ import annotations

from typing import Any

PARTITIONS_PATH = "/rest/v1/leads/partitions.json"


def partitions_out_of_sight(client: Any) -> list[str]:
    """Names of the lead partitions that show no lead over REST: empty, or outside the API
    user's role. Empty when every partition shows one, or the instance has only one.

    Costs one call, plus one per partition when there are several. Marketo errors reach
    the caller as the client raises them.
    """
    partitions = client.get(PARTITIONS_PATH).get("result") or []
    if len(partitions) <= 1:
        return []
    unseen = []
    for partition in partitions:
        page = client.query(
            "/rest/v1/leads.json",
            {
                "filterType": "leadPartitionId",
                "filterValues": str(partition.get("id")),
                "fields": "id",
                "batchSize": 1,
            },
        )
        if not page.get("result"):
            unseen.append(str(partition.get("name") or partition.get("id")))
    return unseen
