"""The code location: `dagster dev -m marketo_orchestration.definitions` (or the
`[tool.dagster]` entry of orchestration/pyproject.toml, from the orchestration directory).

The instances come from MARKETO_INSTANCES_FILE, by default orchestration/instances.yml.
"""

from __future__ import annotations

import os
from pathlib import Path

from dagster import Definitions

from marketo_orchestration.instances import load_instances
from marketo_orchestration.jobs import build_jobs
from marketo_orchestration.meltano import MeltanoProject

DEFAULT_INSTANCES_FILE = Path(__file__).resolve().parents[1] / "instances.yml"


def build_definitions(instances_file: str | Path,
                      meltano: MeltanoProject | None = None) -> Definitions:
    project_root, instances = load_instances(instances_file)
    built = build_jobs(instances)
    return Definitions(
        jobs=[sync_job for sync_job, _ in built.values()],
        schedules=[every for _, every in built.values()],
        resources={"meltano": meltano or MeltanoProject(project_root=str(project_root))},
    )


defs = build_definitions(os.environ.get("MARKETO_INSTANCES_FILE", DEFAULT_INSTANCES_FILE))
