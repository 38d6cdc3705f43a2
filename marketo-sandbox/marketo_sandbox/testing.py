"""What tests and benchmarks use to drive a sandbox.

- :class:`SandboxControl`: the ``/_sandbox`` control API (reset, faults, config, truth);
- :class:`SandboxApi`: Marketo's HTTP API as any client calls it: a token from the
  identity endpoint, then Bearer calls on one session;
- :class:`Fixtures`: records written straight into an in-process sandbox's store, for
  the states the API cannot reach (a row with no side effects, a link to a list that
  does not exist). They go through the store's own methods, never SQL of their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import requests

from marketo_sandbox.domain.objects import set_type_created
from marketo_sandbox.model.objects import custom_object_type
from marketo_sandbox.store import Store, dedupe_key

if TYPE_CHECKING:
    from marketo_sandbox.server import SandboxServer


class SandboxControl:
    def __init__(self, url: str, session: requests.Session | None = None) -> None:
        self.url = url.rstrip("/")
        self.session = session or requests.Session()

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        response = self.session.request(method, f"{self.url}/_sandbox/{path}", timeout=300, **kw)
        response.raise_for_status()
        return response.json()

    def calls(self) -> dict[str, Any]:
        return self._call("GET", "calls")

    def reset_calls(self) -> None:
        self._call("POST", "calls/reset")

    def objects(self, kind: str) -> list[dict[str, Any]]:
        return self._call("GET", f"objects/{kind}")

    def fault(self, **spec: Any) -> None:
        self._call("POST", "faults", json=spec)

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "faults")["faults"]

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def export_jobs(self) -> dict[str, Any]:
        """Export jobs' queue and processing instants and the queue's high-water marks."""
        return self._call("GET", "export-jobs")

    def configure(self, **changes: Any) -> dict[str, Any]:
        return self._call("POST", "config", json=changes)

    def config(self) -> dict[str, Any]:
        return self._call("GET", "config")

    def use_profiles(self, *names: str) -> dict[str, Any]:
        """Turn on exactly these instance profiles (marketo_sandbox.profiles)."""
        return self.configure(profiles=list(names))

    def reset(self) -> None:
        self._call("POST", "reset")

    def expire_tokens(self) -> None:
        self._call("POST", "tokens/expire")

    def revoke_tokens(self) -> None:
        self._call("POST", "tokens/revoke")


class SandboxApi:
    """Plain HTTP against the sandbox's Marketo API, with a token from its identity endpoint.

    ``info`` is :meth:`SandboxServer.info` (endpoint, identity, client_id, client_secret).
    The token is fetched at once (``login=False``: on first use) and kept; :meth:`renew`
    fetches another.
    """

    def __init__(self, info: Mapping[str, str], *, login: bool = True, timeout: float = 60) -> None:
        self.info = dict(info)
        self.base = self.info["endpoint"].rstrip("/")
        self.identity_url = self.info.get("identity") or f"{self.base}/identity"
        self.timeout = timeout
        self.session = requests.Session()
        self._token: str | None = None
        if login:
            self.renew()

    def identity(
        self, *, secret: str | None = None, method: str = "GET", **params: str
    ) -> requests.Response:
        """The identity call itself (``secret`` replaces the configured client secret)."""
        query = {
            "grant_type": "client_credentials",
            "client_id": self.info["client_id"],
            "client_secret": self.info["client_secret"] if secret is None else secret,
            **params,
        }
        return self.session.request(
            method, f"{self.identity_url}/oauth/token", params=query, timeout=self.timeout
        )

    def renew(self) -> str:
        response = self.identity()
        response.raise_for_status()
        self._token = str(response.json()["access_token"])
        # Also on the session, for tests that call ``session`` directly (multipart, Range).
        self.session.headers["Authorization"] = f"Bearer {self._token}"
        return self._token

    @property
    def token(self) -> str:
        return self._token if self._token is not None else self.renew()

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        **kw: Any,
    ) -> requests.Response:
        """One call with the session's Bearer header (``token`` overrides it for this call;
        a test may drop the header from ``session`` to call without one)."""
        send = dict(headers or {})
        if token is not None:
            send.setdefault("Authorization", f"Bearer {token}")
        elif self._token is None:
            self.renew()
        kw.setdefault("timeout", self.timeout)
        return self.session.request(method, self.base + path, headers=send, **kw)

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        body: dict[str, Any] = self.request("GET", path, params=params).json()
        return body

    def post(self, path: str, body: Any = None, **params: Any) -> dict[str, Any]:
        reply: dict[str, Any] = self.request("POST", path, json=body, params=params).json()
        return reply

    def close(self) -> None:
        self.session.close()


class Fixtures:
    """Records written into a running in-process sandbox, without Marketo's side effects.

    A lead made here has no New Lead activity and no defaults; a membership may point at a
    list or program that does not exist. Use the API for anything Marketo would do itself.
    """

    def __init__(self, server: SandboxServer) -> None:
        self.server = server

    @property
    def store(self) -> Store:
        store = self.server.store
        if store is None:
            raise RuntimeError("the sandbox server is not started")
        return store

    # -- leads --------------------------------------------------------------------------

    def next_lead_id(self) -> int:
        """Reserve a lead id (to build values from it before :meth:`lead`)."""
        return self.store.next_id("lead")

    def lead(self, **fields: Any) -> int:
        """A new lead row, created now; returns its id. ``fields`` override the defaults
        (``id`` from :meth:`next_lead_id`, ``email``, names, dates, any lead field)."""
        lead_id = int(fields.pop("id", None) or self.next_lead_id())
        now = self.store.now_ts()
        data: dict[str, Any] = {
            "id": lead_id,
            "email": f"lead-{lead_id}@example.com",
            "firstName": "Test",
            "lastName": f"Lead{lead_id}",
            "createdAt": now,
            "updatedAt": now,
            **fields,
        }
        self.store.insert_lead(data)
        return lead_id

    def lead_record(self, lead_id: int) -> dict[str, Any] | None:
        """The stored document of a lead (every field, as the store holds it)."""
        return self.store.lead(lead_id)

    def lead_updated_at(self, lead_id: int) -> str | None:
        """The store's ``updatedAt`` column of a lead, which must agree with its document."""
        return self.store.lead_updated_at(lead_id)

    def set_lead_fields(self, lead_id: int, **values: Any) -> None:
        """Change stored values without a Change Data Value or a new updatedAt."""
        data = self.store.lead(lead_id)
        if data is None:
            raise KeyError(f"no lead {lead_id}")
        data.update(values)
        self.store.update_lead(data)

    def remove_lead(self, lead_id: int) -> None:
        """The lead row vanishes; its links and activities stay (no Marketo delete)."""
        self.store.remove_lead_rows([lead_id])

    def activities(self, lead_id: int, type_id: int | None = None) -> list[dict[str, Any]]:
        return self.store.activities_of(lead_id, type_id)

    def activity(self, lead_id: int, type_id: int, **kw: Any) -> dict[str, Any]:
        """An activity as Marketo logs it (``when``: epoch seconds, default now)."""
        return self.store.log_activity(lead_id, type_id, **kw)

    # -- memberships and objects ----------------------------------------------------------

    def list_member(self, list_id: int, lead_id: int, created_at: str | None = None) -> None:
        self.store.add_list_member(list_id, lead_id, created_at or self.store.now_ts())

    def list_members(self, list_id: int) -> list[int]:
        return self.store.list_member_ids(list_id)

    def program_member(
        self, program_id: int, lead_id: int, updated_at: str | None = None, **data: Any
    ) -> None:
        """A membership whose document is ``leadId`` plus ``data`` (statusName, ...)."""
        updated = updated_at or self.store.now_ts()
        self.store.put_program_member(program_id, lead_id, updated, {"leadId": lead_id, **data})

    def program_member_record(self, program_id: int, lead_id: int) -> dict[str, Any] | None:
        return self.store.program_member(program_id, lead_id)

    def memberships(self, lead_id: int) -> tuple[list[int], list[int]]:
        """(list ids, program ids) a lead belongs to."""
        return self.store.lead_memberships(lead_id)

    def record(
        self, kind: str, pk: Any, data: dict[str, Any], dedupe: tuple[str, ...] = ()
    ) -> None:
        """An object of ``kind`` (e.g. ``opportunity_roles``) keyed by ``pk``; ``dedupe``
        names its type's dedupe fields, what sync and delete match it on."""
        dkey = dedupe_key(data.get(f) for f in dedupe) if dedupe else None
        self.store.object_put(kind, pk, data, dkey)

    def object_type_created(self, api_name: str, created_at: str) -> None:
        """When custom object type ``api_name`` was defined (its describe's ``createdAt``):
        records older than that cannot exist in Marketo, so a fixture record dated
        earlier needs its type defined earlier first."""
        ot = custom_object_type(api_name)
        if ot is None:
            raise KeyError(f"no custom object type {api_name!r}")
        set_type_created(self.store, ot, created_at)

    def object(self, kind: str, pk: Any) -> dict[str, Any] | None:
        return self.store.object_get(kind, pk)

    def records(self, kind: str) -> list[dict[str, Any]]:
        """Every stored object of ``kind``, in insertion order."""
        return list(self.store.objects(kind))
