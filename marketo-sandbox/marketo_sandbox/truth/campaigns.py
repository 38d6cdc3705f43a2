"""Ground truth of smart campaigns and of the requests made to them."""

from __future__ import annotations

from typing import Any

from marketo_sandbox.domain.campaigns import REQUESTS_KIND, campaigns, render_campaign
from marketo_sandbox.store import Store
from marketo_sandbox.truth import ground_truth


@ground_truth("campaigns")
def _campaigns_truth(store: Store) -> Any:
    for item in campaigns(store):
        yield render_campaign(item)


@ground_truth(REQUESTS_KIND)
def _requests_truth(store: Store) -> Any:
    yield from store.docs(REQUESTS_KIND)
