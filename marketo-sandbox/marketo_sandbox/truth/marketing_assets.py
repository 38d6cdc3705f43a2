"""Ground truth of the marketing assets beside the design assets, as the tap's streams of
the same names hold them: templates, segmentations, segments, smart lists and files as
the asset API renders them; form fields with the form version they belong to; My Tokens
one row each with their holder; a program's tags and period costs one row each (from Get
Program by Id); channels with their progression statuses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from marketo_sandbox.domain.marketing_assets import (
    BY_ID,
    KIND_FORM_FIELDS,
    KIND_TAG_TYPES,
    KIND_TOKENS,
    rendered,
    stored,
)
from marketo_sandbox.domain.programs import programs, render_program
from marketo_sandbox.model.objects import CHANNELS
from marketo_sandbox.store import Store
from marketo_sandbox.truth import ground_truth


def _rendered(kind: str) -> Any:
    def truth(store: Store) -> Iterator[dict[str, Any]]:
        return rendered(store, kind)

    return truth


def _as_stored(kind: str) -> Any:
    def truth(store: Store) -> Iterator[dict[str, Any]]:
        return iter(stored(store, kind))

    return truth


for _kind in BY_ID:
    ground_truth(_kind)(_rendered(_kind))
for _kind in (KIND_FORM_FIELDS, KIND_TOKENS, KIND_TAG_TYPES):
    ground_truth(_kind)(_as_stored(_kind))


@ground_truth("program_tags")
def program_tags(store: Store) -> Iterator[dict[str, Any]]:
    for prog in programs(store):
        for tag in render_program(prog, full=True)["tags"]:
            yield {"programId": prog["id"], **tag}


@ground_truth("program_costs")
def program_costs(store: Store) -> Iterator[dict[str, Any]]:
    for prog in programs(store):
        for index, cost in enumerate(render_program(prog, full=True)["costs"] or []):
            yield {"programId": prog["id"], "index": index, **cost}


@ground_truth("channels")
def channels(store: Store) -> Iterator[dict[str, Any]]:
    for channel in CHANNELS.values():
        yield channel.as_asset()
