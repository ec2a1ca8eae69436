"""specops' jobs in one environment, as OpenLineage sees them: their inputs, outputs and static facets.

    dataset.<name>.load   a file dataset's CSV loaded into the warehouse (dbt seed); columnLineage: identity
    dataset.<name>.land   a dvc file or kafka topic landed into its landing table (specops land)
    transform.<name>      the transform's SQL (dbt model): its inputs, its output, the SQL
    quality_rule.<name>   the rule's checks (dbt tests) on its dataset; at run time its dataQualityAssertions
    model.<name>          training: the training dataset in, the registered model out

Static: what the specs say. compiler.apply.lineage adds what a run knows (run id, times, outcome,
assertions, the model version) and sends RunEvents; this backend writes JobEvents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compiler.emit.lineage import columns, facets, naming
from compiler.spec.ir import Dataset, Environment
from compiler.spec.project import SpecProject


@dataclass(frozen=True)
class Job:
    namespace: str
    name: str
    address: str  # the resource the job runs
    facets: dict[str, Any]
    inputs: tuple[dict[str, Any], ...]
    outputs: tuple[dict[str, Any], ...]

    def ref(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "name": self.name, "facets": self.facets}


def _job_facets(kind: str, owner: str | None, description: str | None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"jobType": facets.job_type(kind)}
    if owner:
        out["ownership"] = facets.ownership(owner, "job")
    if description:
        out["documentation"] = facets.documentation(description, "job")
    out.update(extra)
    return out


def dataset_entry(env: Environment, ds: Dataset, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A dataset in an event: its names, schema, owner and description (and `extra` facets)."""
    namespace, name = naming.dataset(env, ds)
    found: dict[str, Any] = {"schema": facets.schema((c.name, c.type, c.description) for c in ds.columns)}
    if ds.meta.owner:
        found["ownership"] = facets.ownership(ds.meta.owner, "dataset")
    if ds.meta.description:
        found["documentation"] = facets.documentation(ds.meta.description, "dataset")
    found.update(extra or {})
    return {"namespace": namespace, "name": name, "facets": found}


def has_own_job(ds: Dataset) -> bool:
    """Whether a job of the environment's lineage writes the dataset (a transform, a seed load or a landing),
    so that job's output carries its schema, owner and description."""
    source = ds.source
    return source is None or source.type == "file" or source.landed


def input_entry(env: Environment, ds: Dataset, static: bool) -> dict[str, Any]:
    """A dataset a job reads. In the static file (`static`), a dataset another job of the file writes is named
    only: its facets are on that job's output, once (a catalog merges datasets by namespace and name)."""
    if static and has_own_job(ds):
        namespace, name = naming.dataset(env, ds)
        return {"namespace": namespace, "name": name}
    return dataset_entry(env, ds)


def _resolver(project: SpecProject, env: Environment):
    return lambda name: naming.dataset(env, project.datasets[name])


def load_job(project: SpecProject, env: Environment, ds: Dataset) -> Job:
    """A file dataset's seed load: the CSV in, the table out, each column copied as it is."""
    file_ns, file_name = naming.source_file(ds)
    csv = {"namespace": file_ns, "name": file_name,
           "facets": {"schema": facets.schema((c.name, c.type, c.description) for c in ds.columns)}}
    lineage = columns.facet(columns.seed_lineage(ds), lambda _: (file_ns, file_name))
    return Job(naming.job_namespace(project.project, env), f"{ds.address}.load", ds.address,
               _job_facets("LOAD", ds.meta.owner, f"dbt seed of {ds.source.path if ds.source else ds.name}"),
               (csv,), (dataset_entry(env, ds, {"columnLineage": lineage}),))


def land_job(project: SpecProject, env: Environment, ds: Dataset) -> Job:
    """A dvc or kafka dataset's landing: the DVC-tracked file or the topic in, the landing table out."""
    namespace, name = naming.landed_from(env, ds)
    origin = {"namespace": namespace, "name": name,
              "facets": {"schema": facets.schema((c.name, c.type, c.description) for c in ds.columns)}}
    what = f"topic {ds.source.kafka.topic}" if ds.source and ds.source.kafka else f"DVC file {name}"
    return Job(naming.job_namespace(project.project, env), f"{ds.address}.land", ds.address,
               _job_facets("LOAD", ds.meta.owner, f"specops land of {what}"), (origin,), (dataset_entry(env, ds),))


def transform_job(project: SpecProject, env: Environment, name: str, static: bool = False) -> Job:
    t = project.transforms[name]
    out = project.datasets[t.output]
    lineage = columns.transform_lineage(project, t)
    extra = {"columnLineage": columns.facet(lineage, _resolver(project, env))} if lineage is not None else {}
    return Job(naming.job_namespace(project.project, env), t.address, t.address,
               _job_facets("TRANSFORM", t.meta.owner, t.meta.description, sql=facets.sql(t.sql)),
               tuple(input_entry(env, project.datasets[i], static) for i in t.inputs),
               (dataset_entry(env, out, extra),))


def quality_job(project: SpecProject, env: Environment, name: str, static: bool = False) -> Job:
    rule = project.rules[name]
    read = [rule.dataset, *sorted({c.to_dataset for c in rule.checks if c.to_dataset} - {rule.dataset})]
    return Job(naming.job_namespace(project.project, env), rule.address, rule.address,
               _job_facets("QUALITY", rule.meta.owner, rule.meta.description),
               tuple(input_entry(env, project.datasets[d], static) for d in read if d in project.datasets), ())


def training_job(project: SpecProject, env: Environment, name: str, model_version: str | None = None,
                 static: bool = False) -> Job:
    model = project.models[name]
    assert model.training is not None
    namespace, model_name = naming.registered_model(env, model)
    out_facets: dict[str, Any] = {}
    if model.meta.description:
        out_facets["documentation"] = facets.documentation(model.meta.description, "dataset")
    if model.meta.owner:
        out_facets["ownership"] = facets.ownership(model.meta.owner, "dataset")
    if model_version is not None:
        out_facets["version"] = facets.version(model_version)
    registered = {"namespace": namespace, "name": model_name, "facets": out_facets}
    return Job(naming.job_namespace(project.project, env), model.address, model.address,
               _job_facets("TRAINING", model.meta.owner, model.meta.description),
               (input_entry(env, project.datasets[model.training.dataset], static),), (registered,))


def job_event(job: Job) -> dict[str, Any]:
    """The static JobEvent of a job, without `eventTime` (compile reads no clock: the sender adds it)."""
    return {"producer": facets.PRODUCER, "schemaURL": f"{facets.CORE}#/$defs/JobEvent", "job": job.ref(),
            "inputs": list(job.inputs), "outputs": list(job.outputs)}
