"""Lead ids from the CRM's lead key: roles, memberships and requests need Marketo's leadId.

Marketo writes these objects by lead id only, while a CRM knows its contacts by its own
key (the ``lookup_field``: email, or better a CRM-id custom field). Ids are resolved with
``GET /rest/v1/leads.json?filterType=<lookup_field>`` at 300 values a call, cached for
the run, and learned for free from every lead upsert's results.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from typing import Any

from marketo_core.client import MarketoClient

from target_marketo_crm.objects import MAX_RECORDS_PER_CALL
from target_marketo_crm.planner import normalize_key_value

_LOG = logging.getLogger("target_marketo_crm.lead_ids")


class _Ambiguous:
    """Marker: more than one lead matches the value (Marketo's 1007)."""

    def __repr__(self) -> str:
        return "AMBIGUOUS"


AMBIGUOUS = _Ambiguous()
Resolution = int | _Ambiguous | None


def _chunks(values: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


class LeadResolver:
    def __init__(
        self,
        client: MarketoClient,
        lookup_field: str,
        *,
        logger: logging.Logger | None = None,
    ) -> None:
        self.client = client
        self.lookup_field = lookup_field
        self.log = logger or _LOG
        self._lock = threading.Lock()
        self._cache: dict[Any, Resolution] = {}
        self.calls = 0

    def learn(self, value: Any, lead_id: Any) -> None:
        if value is None or lead_id is None:
            return
        with self._lock:
            self._cache[normalize_key_value(value)] = int(lead_id)

    def forget(self, value: Any) -> None:
        with self._lock:
            self._cache.pop(normalize_key_value(value), None)

    def forget_id(self, lead_id: Any) -> None:
        with self._lock:
            for key in [k for k, v in self._cache.items() if v == lead_id]:
                del self._cache[key]

    def drop_misses(self) -> None:
        """Forget "no such lead" and "ambiguous" answers: leads created since (by a bulk
        import, another drain, another integration) must be looked up again."""
        with self._lock:
            for key in [k for k, v in self._cache.items() if not isinstance(v, int)]:
                del self._cache[key]

    def unknown(self, values: Iterable[Any]) -> list[Any]:
        """The values not resolved yet (distinct, in first-seen order)."""
        seen: dict[Any, Any] = {}
        with self._lock:
            for value in values:
                norm = normalize_key_value(value)
                if norm not in self._cache and norm not in seen:
                    seen[norm] = value
        return list(seen.values())

    def resolve(
        self,
        values: Iterable[Any],
        *,
        executor: Executor | None = None,
    ) -> dict[Any, Resolution]:
        """Normalized value -> lead id, AMBIGUOUS, or None (no such lead)."""
        wanted = list(values)
        missing = self.unknown(wanted)
        if missing:
            chunks = list(_chunks(missing, MAX_RECORDS_PER_CALL))
            fetch: Callable[[list[Any]], dict[Any, Resolution]] = self._fetch
            if executor is not None and len(chunks) > 1:
                found_parts = list(executor.map(fetch, chunks))
            else:
                found_parts = [fetch(chunk) for chunk in chunks]
            with self._lock:
                for part in found_parts:
                    self._cache.update(part)
        with self._lock:
            return {
                normalize_key_value(v): self._cache.get(normalize_key_value(v)) for v in wanted
            }

    def _fetch(self, chunk: list[Any]) -> dict[Any, Resolution]:
        found: dict[Any, Resolution] = {normalize_key_value(v): None for v in chunk}
        params = {
            "filterType": self.lookup_field,
            "filterValues": [str(v) for v in chunk],
            "fields": sorted({"id", self.lookup_field}),
            "batchSize": MAX_RECORDS_PER_CALL,
        }
        with self._lock:
            self.calls += 1
        for lead in self.client.iter_results("/rest/v1/leads.json", params):
            norm = normalize_key_value(lead.get(self.lookup_field))
            if norm not in found or lead.get("id") is None:
                continue
            current = found[norm]
            if current is None:
                found[norm] = int(lead["id"])
            elif current is not AMBIGUOUS and current != int(lead["id"]):
                found[norm] = AMBIGUOUS
        return found
