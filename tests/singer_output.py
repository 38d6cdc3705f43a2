"""A tap's output read the way a target reads it: Singer messages sorted into records per
stream, schemas, key properties and states. Shared by the test folders that run the tap
(tests/ is on the import path through tests/conftest.py)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SingerOutput:
    messages: list[dict[str, Any]]
    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, list[str]] = field(default_factory=dict)  # stream -> key_properties
    states: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for message in self.messages:
            if message["type"] == "RECORD":
                self.records[message["stream"]].append(message["record"])
            elif message["type"] == "SCHEMA":
                self.schemas[message["stream"]] = message["schema"]
                self.keys[message["stream"]] = list(message.get("key_properties") or [])
            elif message["type"] == "STATE":
                self.states.append(message["value"])

    @property
    def state(self) -> dict[str, Any]:
        """The last STATE value ({} when there was none)."""
        return self.states[-1] if self.states else {}
