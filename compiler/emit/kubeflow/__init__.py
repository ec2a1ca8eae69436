"""The kubeflow backend: a Kubeflow Pipelines (KFP v2) retraining pipeline per Model whose training.runner is
kubeflow, in each environment it trains in (compiler.spec.runners): `kubeflow/<env>/<model>-retrain.yaml`.

The file is KFP's pipeline IR (the YAML form of the PipelineSpec protobuf, schemaVersion 2.1.0), as
`kfp.compiler.Compiler` writes it for the same pipeline of lightweight Python components; upload it with
`kfp pipeline create` (or the UI) and schedule it with a recurring run on the model's training.schedule (the cron
is in the pipeline's description, in KFP's 6 fields, seconds first: KFP keeps schedules outside the pipeline).
Four tasks, in a chain:

    train -> evaluate -> gate -> alias

each calling compiler.apply.steps.stages.run_stage in the model's training image (which then has kfp: KFP's
executor runs the task), on the spec repository at the path `repository` (default /app: the image holds no specs;
the cluster mounts them there, docs/ml-platforms.md) and the environment's warehouse and registry.
`train` registers the candidate version (its output, the input of the others); `evaluate` records the decision;
`gate` fails, and so stops the run, when the candidate may not hold the alias; `alias` moves it.

Written as data here, not with the kfp SDK: compile stays free of kfp (an optional extra, and its import is
heavy), and the bytes do not depend on the installed SDK's version. The tests parse the file with kfp's
PipelineSpec protobuf and run it with kfp.local's SubprocessRunner (docs/ml-platforms.md).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from compiler import __version__
from compiler.emit.base import Artifact, Unit, run_units
from compiler.emit.images import train_image
from compiler.emit.render import GENERATED, comment_safe, dump_yaml
from compiler.spec.cron import canonical_cron
from compiler.spec.ir import Model
from compiler.spec.project import SpecProject
from compiler.spec.runners import retrain_runner, training_environments

PREFIX = "kubeflow"
COST = 0.02  # relative cost at 10,000 specs (compiler.emit.registry)
SCHEMA_VERSION = "2.1.0"
REPOSITORY = "/app"  # where the tasks find the spec repository: mounted by the cluster (docs/ml-platforms.md)
# KFP's launcher for lightweight Python components (kfp.dsl.component_factory), byte for byte
LAUNCHER = ('program_path=$(mktemp -d)\n\nprintf "%s" "$0" > "$program_path/ephemeral_component.py"\n'
            '_KFP_RUNTIME=true python3 -m kfp.dsl.executor_main                         --component_module_path'
            '                         "$program_path/ephemeral_component.py"                         "$@"\n')
PREAMBLE = "\nimport kfp\nfrom kfp import dsl\nfrom kfp.dsl import *\nfrom typing import *\n\n"
COMMON = ("repository", "model", "environment")
# task -> (extra inputs from earlier tasks, output type, the stage's return as the task's output)
TASKS: dict[str, tuple[tuple[tuple[str, str, str], ...], str, str]] = {
    "train": ((), "int", "int"),
    "evaluate": ((("version", "int", "train"),), "str", "str"),
    "gate": ((("version", "int", "train"), ("decision", "str", "evaluate")), "str", "str"),
    "alias": ((("version", "int", "train"), ("gate", "str", "gate")), "str", "str"),
}
PARAMETER_TYPES = {"int": "NUMBER_INTEGER", "str": "STRING"}


def emit(project: SpecProject) -> list[Artifact]:
    return run_units(project, units(project))


def units(project: SpecProject) -> list[Unit]:
    """One pipeline per (kubeflow-run model, environment it trains in)."""
    out = []
    for model in sorted(project.models.values(), key=lambda m: m.name):
        deployments = project.deployments_of(model.name)
        if retrain_runner(model, deployments, project.environments) == "kubeflow":
            out += [Unit(("kubeflow", model.name, env), partial(_pipeline_file, model_name=model.name, env_name=env))
                    for env in training_environments(model, deployments, project.environments,
                                                     project.default_environment)]
    return out


def pipeline_name(project: SpecProject, model: Model, env: str) -> str:
    return f"{project.project.name}-{env}-{model.name}-retrain".replace("_", "-").lower()


def _pipeline_file(project: SpecProject, model_name: str, env_name: str) -> list[Artifact]:
    model = project.models[model_name]
    env = project.environments[env_name]
    spec = pipeline_spec(project, model, env_name)
    header = GENERATED.format(source=comment_safe(f"{model.loc.file} ({model.address})"))
    owners = (model.address, env.address, project.project.address)
    return [Artifact(f"{PREFIX}/{env_name}/{model.name}-retrain.yaml", dump_yaml(spec, header), owners)]


def _source(task: str) -> str:
    extra, returns, _ = TASKS[task]
    params = [f"{p}: str" for p in COMMON] + [f"{name}: {kind}" for name, kind, _ in extra]
    version = ", version" if extra else ""
    return (f"{PREAMBLE}def {task}({', '.join(params)}) -> {returns}:\n"
            "    from compiler.apply.steps.stages import run_stage\n"
            f"    return {returns}(run_stage(repository, model, environment, {task!r}{version}))\n\n")


def pipeline_spec(project: SpecProject, model: Model, env: str) -> dict[str, Any]:
    """The PipelineSpec, as the JSON/YAML mapping KFP reads (keys in the compiler's order)."""
    assert model.training is not None
    image = train_image(project, model)
    components: dict[str, Any] = {}
    executors: dict[str, Any] = {}
    tasks: dict[str, Any] = {}
    for name, (extra, returns, _) in sorted(TASKS.items()):
        inputs = {p: {"parameterType": "STRING"} for p in COMMON}
        inputs.update({p: {"parameterType": PARAMETER_TYPES[kind]} for p, kind, _ in extra})
        components[f"comp-{name}"] = {
            "executorLabel": f"exec-{name}",
            "inputDefinitions": {"parameters": dict(sorted(inputs.items()))},
            "outputDefinitions": {"parameters": {"Output": {"parameterType": PARAMETER_TYPES[returns]}}},
        }
        executors[f"exec-{name}"] = {"container": {
            "args": ["--executor_input", "{{$}}", "--function_to_execute", name],
            "command": ["sh", "-ec", LAUNCHER, _source(name)],
            "image": image,
        }}
        task_inputs: dict[str, Any] = {p: {"componentInputParameter": p} for p in COMMON}
        task_inputs.update({p: {"taskOutputParameter": {"outputParameterKey": "Output", "producerTask": producer}}
                            for p, _, producer in extra})
        task: dict[str, Any] = {"cachingOptions": {}, "componentRef": {"name": f"comp-{name}"}}
        if extra:
            task["dependentTasks"] = sorted({producer for _, _, producer in extra})
        task.update({"inputs": {"parameters": dict(sorted(task_inputs.items()))}, "taskInfo": {"name": name}})
        tasks[name] = task
    defaults = {"environment": env, "model": model.name, "repository": REPOSITORY}
    description = (f"specops retraining of {model.address} in environment {env}: train, evaluate, gate, alias. "
                   f"Schedule it with a recurring run on cron '0 {canonical_cron(model.training.schedule)}' "
                   f"(training.schedule '{model.training.schedule}', with KFP's leading seconds field).")
    return {
        "components": components,
        "deploymentSpec": {"executors": executors},
        "pipelineInfo": {"description": description, "name": pipeline_name(project, model, env)},
        "root": {
            "dag": {
                "outputs": {"parameters": {"Output": {"valueFromParameter": {
                    "outputParameterKey": "Output", "producerSubtask": "alias"}}}},
                "tasks": tasks,
            },
            "inputDefinitions": {"parameters": {
                k: {"defaultValue": v, "isOptional": True, "parameterType": "STRING"}
                for k, v in sorted(defaults.items())}},
            "outputDefinitions": {"parameters": {"Output": {"parameterType": "STRING"}}},
        },
        "schemaVersion": SCHEMA_VERSION,
        "sdkVersion": f"specops-{__version__}",
    }
