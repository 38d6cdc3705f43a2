"""Ground truth of the design assets: every version (approved and draft) of emails, forms,
landing pages and snippets, and every folder, as the asset API renders them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from marketo_sandbox.domain.assets import ASSET_KINDS, rendered
from marketo_sandbox.store import Store
from marketo_sandbox.truth import ground_truth


def _provider(kind: str) -> Any:
    def truth(store: Store) -> Iterator[dict[str, Any]]:
        return rendered(store, kind)

    return truth


for _kind in ASSET_KINDS:
    ground_truth(_kind)(_provider(_kind))
