"""The Marketo instances to sync, read from a YAML file (``orchestration/instances.yml``).

Each instance is one Munchkin id: its own rate window, concurrency cap, daily call quota and
export quota. So each gets its own Dagster job and schedule, its own Meltano state ID
(``--state-id-suffix``) and its own lock. Secrets are never written in the file: an
instance names the environment variables holding its client id and secret, and they are
read only when a run starts, straight into the Meltano subprocess's environment.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

# Letters Dagster allows in job and schedule names, kept lower case so the instance name
# reads the same in a Meltano state ID, a lock file and a run tag.
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Plugin setting variables: Meltano gives the process environment precedence over
# meltano.yml and its environments, so these override the chosen environment's config.
_SETTING_PREFIXES = ("TAP_MARKETO_CRM", "TARGET_MARKETO_CRM")
# Words that mark a value as a secret: such values come from the environment, by name.
_SECRET_WORDS = ("SECRET", "PASSWORD", "TOKEN", "CLIENT_ID", "PRIVATE_KEY")

DEFAULT_TASKS = ("tap-marketo-crm", "target-duckdb")
DEFAULT_CRON = "*/30 * * * *"


class InstanceConfigError(ValueError):
    """instances.yml is wrong, or a variable it names is not set. The message names the
    instance and the key; it never contains a variable's value."""


@dataclass(frozen=True)
class StreamGroup:
    """A share of the instance's streams synced as its own Meltano run with its own state
    ID, e.g. to split a first sync (leads one day, activities the next)."""

    name: str
    select: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MeltanoRun:
    """One `meltano run` of an instance: its state ID suffix and extra environment."""

    label: str
    state_id_suffix: str
    env: Mapping[str, str]


@dataclass(frozen=True)
class Instance:
    name: str
    environment: str
    tasks: tuple[str, ...] = DEFAULT_TASKS
    cron: str = DEFAULT_CRON
    timezone: str = "UTC"
    endpoint: str | None = None
    endpoint_env: str | None = None
    client_id_env: str | None = None
    client_secret_env: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    stream_groups: tuple[StreamGroup, ...] = ()
    # Quota stops retried (each after the next reset) before the run is failed: a first
    # sync held back by the 500 MB export quota needs one day per 500 MB.
    quota_retries: int = 3

    @property
    def job_name(self) -> str:
        return f"marketo_{self.name}"

    def runs(self) -> list[MeltanoRun]:
        """The Meltano runs of one sync, in order: one per stream group, or one for all
        the streams the project selects."""
        if not self.stream_groups:
            return [MeltanoRun(self.name, self.name, {})]
        return [
            MeltanoRun(
                f"{self.name}/{group.name}",
                f"{self.name}-{group.name}",
                # Meltano reads an extractor's `select` extra from <PLUGIN>__SELECT.
                {"TAP_MARKETO_CRM__SELECT": json.dumps(list(group.select)), **group.env},
            )
            for group in self.stream_groups
        ]

    def secret_names(self) -> list[str]:
        return [name for name in (self.client_id_env, self.client_secret_env) if name]

    def meltano_env(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """The variables a run of this instance adds to Meltano's environment: the
        endpoint and credentials (resolved from the named variables) for the tap and the
        target, then the instance's own ``env``."""
        environ = os.environ if environ is None else environ
        values: dict[str, str] = {}
        endpoint = self.endpoint
        if self.endpoint_env:
            endpoint = _required(environ, self.endpoint_env, self.name, "endpoint_env")
        named = {
            "ENDPOINT": endpoint,
            "CLIENT_ID": self.client_id_env
            and _required(environ, self.client_id_env, self.name, "client_id_env"),
            "CLIENT_SECRET": self.client_secret_env
            and _required(environ, self.client_secret_env, self.name, "client_secret_env"),
        }
        for prefix in _SETTING_PREFIXES:
            for setting, value in named.items():
                if value:
                    values[f"{prefix}_{setting}"] = value
        values.update(self.env)
        return values


def _required(environ: Mapping[str, str], name: str, instance: str, key: str) -> str:
    value = environ.get(name, "")
    if not value:
        raise InstanceConfigError(
            f"instance '{instance}': environment variable {name} (its {key}) is not set"
        )
    return value


def load_instances(path: str | Path) -> tuple[Path, list[Instance]]:
    """(the Meltano project root, the instances) from an instances file."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InstanceConfigError(f"cannot read {path}: {exc}") from exc
    if not isinstance(document, dict):
        raise InstanceConfigError(f"{path}: expected a mapping with 'instances'")
    project = (path.parent / str(document.get("meltano_project", ".."))).resolve()
    entries = document.get("instances")
    if not isinstance(entries, list) or not entries:
        raise InstanceConfigError(f"{path}: 'instances' must be a non-empty list")
    defaults = document.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise InstanceConfigError(f"{path}: 'defaults' must be a mapping")
    instances = [parse_instance({**defaults, **_mapping(entry, path)}) for entry in entries]
    names = [instance.name for instance in instances]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InstanceConfigError(f"{path}: instance names must be unique: {duplicates}")
    return project, instances


def _mapping(entry: Any, path: Path) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise InstanceConfigError(f"{path}: every instance must be a mapping, got {entry!r}")
    return entry


_KEYS = {
    "name", "environment", "tasks", "cron", "timezone", "endpoint", "endpoint_env",
    "client_id_env", "client_secret_env", "env", "stream_groups", "quota_retries",
}


def parse_instance(entry: Mapping[str, Any]) -> Instance:
    name = str(entry.get("name", ""))
    if not _NAME.match(name):
        raise InstanceConfigError(
            f"instance name {name!r} must be lower case letters, digits and _ (a Dagster "
            "job name, a Meltano state ID suffix and a lock file name)"
        )
    where = f"instance '{name}'"
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise InstanceConfigError(f"{where}: unknown keys {unknown} (known: {sorted(_KEYS)})")
    environment = entry.get("environment")
    if not isinstance(environment, str) or not environment:
        raise InstanceConfigError(f"{where}: 'environment' (a Meltano environment) is required")
    for key in ("endpoint_env", "client_id_env", "client_secret_env"):
        value = entry.get(key)
        # The value is not echoed: a secret pasted here by mistake must not reach a log.
        if value is not None and not (isinstance(value, str) and _ENV_NAME.match(value)):
            raise InstanceConfigError(
                f"{where}: '{key}' must be the NAME of an environment variable, not a value"
            )
    if entry.get("endpoint") and entry.get("endpoint_env"):
        raise InstanceConfigError(f"{where}: set 'endpoint' or 'endpoint_env', not both")
    tasks = entry.get("tasks", list(DEFAULT_TASKS))
    if isinstance(tasks, str):
        tasks = tasks.split()
    if not isinstance(tasks, list) or not tasks or not all(isinstance(t, str) for t in tasks):
        raise InstanceConfigError(f"{where}: 'tasks' must be `meltano run` arguments")
    timezone = str(entry.get("timezone", "UTC"))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InstanceConfigError(f"{where}: unknown timezone {timezone!r}") from exc
    cron = str(entry.get("cron", DEFAULT_CRON))
    if len(cron.split()) != 5:
        raise InstanceConfigError(f"{where}: 'cron' must have 5 fields, got {cron!r}")
    retries = entry.get("quota_retries", 3)
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise InstanceConfigError(f"{where}: 'quota_retries' must be an integer >= 0")
    return Instance(
        name=name,
        environment=environment,
        tasks=tuple(tasks),
        cron=cron,
        timezone=timezone,
        endpoint=entry.get("endpoint") or None,
        endpoint_env=entry.get("endpoint_env"),
        client_id_env=entry.get("client_id_env"),
        client_secret_env=entry.get("client_secret_env"),
        env=_plain_env(entry.get("env"), where),
        stream_groups=_stream_groups(entry.get("stream_groups"), where),
        quota_retries=retries,
    )


def _plain_env(value: Any, where: str) -> dict[str, str]:
    """Inline variables (a warehouse schema, a budget share). Secrets do not belong here:
    a name that looks like one is refused, without echoing its value."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InstanceConfigError(f"{where}: 'env' must be a mapping of variables")
    env: dict[str, str] = {}
    for raw_key, item in value.items():
        key = str(raw_key)
        if not _ENV_NAME.match(key):
            raise InstanceConfigError(f"{where}: {key!r} in 'env' is not a variable name")
        if any(word in key.upper() for word in _SECRET_WORDS):
            raise InstanceConfigError(
                f"{where}: {key} looks like a secret; put it in the environment and name it "
                "with client_id_env / client_secret_env instead of writing it in 'env'"
            )
        env[key] = str(item)
    return env


def _stream_groups(value: Any, where: str) -> tuple[StreamGroup, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InstanceConfigError(f"{where}: 'stream_groups' must be a list")
    groups = []
    for entry in value:
        if not isinstance(entry, dict):
            raise InstanceConfigError(f"{where}: each stream group must be a mapping")
        name = str(entry.get("name", ""))
        if not _NAME.match(name.replace("-", "_")):
            raise InstanceConfigError(f"{where}: stream group name {name!r} is not valid")
        select = entry.get("select")
        if not isinstance(select, list) or not select:
            raise InstanceConfigError(
                f"{where}: stream group '{name}' needs 'select' (Meltano select patterns)"
            )
        groups.append(StreamGroup(name, tuple(str(s) for s in select),
                                  _plain_env(entry.get("env"), f"{where}, group '{name}'")))
    names = [group.name for group in groups]
    if len(set(names)) != len(names):
        raise InstanceConfigError(f"{where}: stream group names must be unique")
    return tuple(groups)
