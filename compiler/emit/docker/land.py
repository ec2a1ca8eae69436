"""The landing image (`docker/land/`): runs `specops land <dataset> --env <env>` for the kafka landing CronJobs.

Like the training and dbt images it holds code and dependencies only (the Kafka client, the drivers of the
warehouses it lands into, specops from a staged wheel), never specs or data: its jobs fetch the spec repository
at the applied revision and run in it (compiler.emit.kubernetes.landing), so its tag (compiler.spec.images)
changes only with that code. Emitted only when a landing CronJob uses it (a kafka source with a `schedule`, in an
environment with a namespace whose warehouse its cluster can reach). The Dockerfile is the training image's
template with these values (compiler.emit.docker.land_artifacts).
"""

from __future__ import annotations

from compiler.spec.landing import cron_landed_anywhere
from compiler.spec.project import SpecProject

HEALTHCHECK = ["python", "-c", "import compiler, confluent_kafka"]
COMMAND = ["specops", "--help"]  # the CronJob sets the args: specops land <dataset> --env <environment>


def used(project: SpecProject) -> bool:
    """Whether some environment runs a landing CronJob (compiler.emit.kubernetes.landing.scheduled)."""
    return cron_landed_anywhere(project.kafka_datasets(), project.environments.values())


def owners(project: SpecProject) -> tuple[str, ...]:
    """The kafka datasets (whose CronJobs run the image), the Project (python_version, the specops source) and the
    Environments (their warehouse types choose the drivers)."""
    kafka = [ds.address for ds in project.kafka_datasets()]
    return (*kafka, project.project.address, *sorted(e.address for e in project.environments.values()))
