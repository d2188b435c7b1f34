"""The nightly flow as a Prefect deployment with a cron schedule in Dutch time.

``betrokken serve`` registers the deployment with the Prefect server that ``PREFECT_API_URL``
points to (``prefect server start``) and then serves it: this process runs every scheduled flow
run. Europe/Amsterdam keeps 02:00 at 02:00 across daylight-saving changes.
"""

from __future__ import annotations

from pathlib import Path

from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from flows.nightly import nightly

TIME_ZONE = "Europe/Amsterdam"
DEFAULT_CRON = "0 2 * * *"
DEPLOYMENT_NAME = "nightly"


def nightly_deployment(
    config: Path, cron: str = DEFAULT_CRON, runner: str = "threads", dask_address: str | None = None
) -> RunnerDeployment:
    """The deployment: one run at a time, the config's absolute path as its parameter."""
    parameters: dict[str, object] = {"config_path": str(config.resolve()), "mode": "live", "runner": runner}
    if dask_address:
        parameters["dask_address"] = dask_address
    return nightly.to_deployment(
        name=DEPLOYMENT_NAME,
        schedules=[Cron(cron, timezone=TIME_ZONE)],
        parameters=parameters,
        concurrency_limit=1,
        description="Collect, store, enrich, estimate and report, every night.",
        tags=["betrokken"],
    )
