"""A Dagster job and schedule per Marketo instance.

Each job has one op that runs the instance's Meltano run(s) under the instance's lock and
reports what they did. Outcomes, by the tap's exit status:

- 0: success; API calls, rows per stream and timing go to the run's metadata.
- 75 (a Marketo daily limit: 607, the tap's max_daily_calls, or the 500 MB export quota;
  state is saved): not a failure. The op asks Dagster to retry after the next 00:00
  America/Chicago, when Marketo resets its quotas, plus a margin.
- anything else: the run fails, with the plugins' exit codes and last error lines.
"""

# No `from __future__ import annotations`: Dagster reads the op's annotations as types.

from collections.abc import Mapping, Sequence
from typing import Any

from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterRunStatus,
    DefaultScheduleStatus,
    Failure,
    JobDefinition,
    MetadataValue,
    OpExecutionContext,
    Output,
    RetryRequested,
    RunRequest,
    RunsFilter,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    job,
    op,
    schedule,
)

from marketo_orchestration.guard import InstanceBusy, instance_lock
from marketo_orchestration.instances import Instance, InstanceConfigError
from marketo_orchestration.meltano import MeltanoProject, RunOutcome

# The run tag Dagster's run queue limits to one run per value (dagster.yaml).
INSTANCE_TAG = "marketo/instance"
_ACTIVE = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]


def instance_job(instance: Instance) -> JobDefinition:
    @op(
        name=f"sync_{instance.name}",
        description=f"`meltano run {' '.join(instance.tasks)}` for Marketo instance "
        f"'{instance.name}' (environment {instance.environment}), one stream group after "
        "another, under the instance's lock.",
    )
    def sync(context: OpExecutionContext, meltano: MeltanoProject) -> Output[dict[str, Any]]:
        return sync_instance(context, meltano, instance)

    @job(
        name=instance.job_name,
        tags={INSTANCE_TAG: instance.name},
        description=f"Sync Marketo instance '{instance.name}'.",
    )
    def instance_sync() -> None:
        sync()

    return instance_sync


def instance_schedule(instance: Instance, sync_job: JobDefinition) -> ScheduleDefinition:
    @schedule(
        name=f"{instance.job_name}_schedule",
        job=sync_job,
        cron_schedule=instance.cron,
        execution_timezone=instance.timezone,
        default_status=DefaultScheduleStatus.STOPPED,
        description=f"Sync Marketo instance '{instance.name}' on '{instance.cron}' "
        f"({instance.timezone}), skipped while a run of it is queued or in progress.",
    )
    def every_interval(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        # A quota-stopped run waits for the reset inside Dagster (up for retry); queueing a
        # run per tick behind it would only pile up runs that all wait for the same reset.
        active = context.instance.get_run_records(
            RunsFilter(job_name=sync_job.name, tags={INSTANCE_TAG: instance.name},
                       statuses=_ACTIVE),
            limit=1,
        )
        if active:
            run = active[0].dagster_run
            return SkipReason(
                f"instance '{instance.name}': run {run.run_id} is {run.status.value}"
            )
        return RunRequest(tags={INSTANCE_TAG: instance.name})

    return every_interval


def sync_instance(
    context: OpExecutionContext, meltano: MeltanoProject, instance: Instance
) -> Output[dict[str, Any]]:
    try:
        env = instance.meltano_env()
    except InstanceConfigError as exc:
        raise Failure(description=str(exc), allow_retries=False) from exc
    secrets = [env[k] for k in env if k.endswith(("_CLIENT_SECRET", "_CLIENT_ID"))]
    outcomes: list[RunOutcome] = []
    try:
        with instance_lock(meltano.locks(), instance.name, run_id=context.run_id,
                           job=instance.job_name):
            for run in instance.runs():
                context.log.info("meltano run for '%s': %s", run.label,
                                 " ".join(meltano.command(instance, run)[1:]))
                outcome = meltano.run(instance, run, env)
                outcomes.append(outcome)
                _report(context, instance, outcome, outcomes)
                if outcome.log.exit_status == 0:
                    continue
                if outcome.log.resumable_stop:
                    retry_at = meltano.quota_retry_at()
                    context.log.warning(
                        "'%s' stopped at a Marketo daily limit (its state is saved): %s. "
                        "Retrying at %s, after the 00:00 US Central reset.",
                        run.label,
                        _scrub(outcome.log.quota_stop or outcome.log.quota_error or "", secrets),
                        retry_at.isoformat(),
                    )
                    # Later stream groups share the exhausted quota: they wait too.
                    raise RetryRequested(
                        max_retries=instance.quota_retries,
                        seconds_to_wait=meltano.seconds_until_quota_retry(),
                    )
                raise Failure(
                    description=(
                        f"'{run.label}': meltano exited {outcome.log.exit_status} "
                        f"(plugins: {outcome.log.plugin_exit_codes or 'none reported'}): "
                        + _scrub(" | ".join(e[:400] for e in outcome.log.errors[-3:])
                                 or "see the log", secrets)
                    ),
                    metadata=_metadata(outcome),
                    allow_retries=False,
                )
    except InstanceBusy as exc:
        raise Failure(
            description=str(exc),
            metadata={"holder": MetadataValue.json(exc.holder)},
            allow_retries=False,
        ) from exc
    summary = _totals(outcomes)
    return Output(summary, metadata={
        "api_calls": MetadataValue.int(summary["api_calls"]),
        "rows": MetadataValue.int(summary["rows"]),
        "exit_status": MetadataValue.int(0),
        "runs": MetadataValue.json(summary["runs"]),
    })


def _metadata(outcome: RunOutcome) -> dict[str, Any]:
    log = outcome.log
    return {
        "state_id_suffix": MetadataValue.text(outcome.run.state_id_suffix),
        "outcome": MetadataValue.text(log.outcome),
        "exit_status": MetadataValue.int(log.plugin_exit_status),
        "meltano_exit_status": MetadataValue.int(log.exit_status),
        "plugin_exit_codes": MetadataValue.json(log.plugin_exit_codes),
        "api_calls": MetadataValue.int(log.api_calls),
        "rows": MetadataValue.int(log.rows),
        "records_per_stream": MetadataValue.json(log.records),
        "seconds": MetadataValue.float(outcome.seconds),
        "log": MetadataValue.path(str(outcome.log_path)),
        **({"quota_stop": MetadataValue.text(log.quota_stop or log.quota_error or "")}
           if log.resumable_stop else {}),
    }


def _report(context: OpExecutionContext, instance: Instance, outcome: RunOutcome,
            so_far: Sequence[RunOutcome]) -> None:
    """A finished Meltano run as an event on the instance's asset (it loaded rows and
    saved state, also when stopped at a quota), and the run's totals as run tags, so the
    runs list shows each run's calls, rows and exit status."""
    if outcome.log.exit_status == 0 or outcome.log.resumable_stop:
        context.log_event(AssetMaterialization(
            asset_key=AssetKey(["marketo", instance.name]),
            description=f"meltano run of '{outcome.run.label}'",
            metadata=_metadata(outcome),
        ))
    totals = _totals(so_far)
    tags = {
        "marketo/api_calls": str(totals["api_calls"]),
        "marketo/rows": str(totals["rows"]),
        "marketo/exit_status": str(outcome.log.plugin_exit_status),
        "marketo/outcome": outcome.log.outcome,
    }
    if context.instance.has_run(context.run_id):
        context.instance.add_run_tags(context.run_id, tags)


def _totals(outcomes: Sequence[RunOutcome]) -> dict[str, Any]:
    return {
        "api_calls": sum(o.log.api_calls for o in outcomes),
        "rows": sum(o.log.rows for o in outcomes),
        "runs": [
            {"state_id_suffix": o.run.state_id_suffix, "exit_status": o.log.plugin_exit_status,
             "api_calls": o.log.api_calls, "rows": o.log.rows, "seconds": o.seconds}
            for o in outcomes
        ],
    }


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def build_jobs(instances: Sequence[Instance]) -> Mapping[str, tuple[JobDefinition,
                                                                   ScheduleDefinition]]:
    built = {}
    for instance in instances:
        sync_job = instance_job(instance)
        built[instance.name] = (sync_job, instance_schedule(instance, sync_job))
    return built
