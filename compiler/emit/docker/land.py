"""The landing image (`docker/land/`): runs `specops land <dataset> --env <env>` for the kafka landing CronJobs.

Like a training image, it is built from the repository root and holds every spec and the files they name
(`specops land` checks the whole repository), the specops wheel staged by the CI (not on PyPI), the Kafka
client and the warehouse drivers of the embedded default and Postgres. Emitted only when a landing CronJob
uses it (a kafka source with a `schedule`, and an environment with a namespace). The Dockerfile is the
training image's template with these values (compiler.emit.docker.land_artifacts).
"""

from __future__ import annotations

from compiler.spec.project import SpecProject

PACKAGES = ("confluent-kafka", "duckdb", "psycopg2-binary")
HEALTHCHECK = ["python", "-c", "import compiler, confluent_kafka"]
COMMAND = ["specops", "--help"]  # the CronJob sets the args: specops land <dataset> --env <environment>


def used(project: SpecProject) -> bool:
    """Whether some environment runs a landing CronJob (compiler.emit.kubernetes.landing.scheduled)."""
    return any(ds.source is not None and ds.source.kafka is not None and ds.source.kafka.schedule
               and not ds.source.kafka.connect_cluster for ds in project.datasets.values()) and any(
        env.namespace is not None for env in project.environments.values())


def owners(project: SpecProject) -> tuple[str, ...]:
    """The kafka datasets (whose CronJobs run the image) and the Project (whose spec folders it copies)."""
    kafka = sorted(ds.address for ds in project.datasets.values() if ds.source is not None and ds.source.kafka)
    return (*kafka, project.project.address)


def header(folder: str, image: str, wheel: str, source: str) -> list[str]:
    return [
        source,
        f"Landing image: {image}",
        f"Build from the spec repository root: docker build -f {folder}/Dockerfile -t {image} .",
        "after staging the specops wheel (not on PyPI), built from the specops source that compiled this:",
        f"  pip wheel --no-deps --wheel-dir {folder}/dist <specops source>   # -> {wheel}",
        "Run: specops land <dataset> --env <environment> (the CronJob sets the args).",
    ]
