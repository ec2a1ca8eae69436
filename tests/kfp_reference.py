"""The retraining pipeline of compiler/emit/kubeflow written with the kfp SDK, to compare the IR specops writes
with what kfp's compiler writes (tests/test_kubeflow.py). No `from __future__ import annotations` here: kfp reads
the components' annotations as types."""


def reference_pipeline(image, name, description):
    from kfp import dsl

    options = {"base_image": image, "install_kfp_package": False}

    @dsl.component(**options)
    def train(repository: str, model: str, environment: str) -> int:
        from compiler.apply.steps.stages import run_stage
        return int(run_stage(repository, model, environment, 'train'))

    @dsl.component(**options)
    def evaluate(repository: str, model: str, environment: str, version: int) -> str:
        from compiler.apply.steps.stages import run_stage
        return str(run_stage(repository, model, environment, 'evaluate', version))

    @dsl.component(**options)
    def gate(repository: str, model: str, environment: str, version: int, decision: str) -> str:
        from compiler.apply.steps.stages import run_stage
        return str(run_stage(repository, model, environment, 'gate', version))

    @dsl.component(**options)
    def alias(repository: str, model: str, environment: str, version: int, gate: str) -> str:
        from compiler.apply.steps.stages import run_stage
        return str(run_stage(repository, model, environment, 'alias', version))

    @dsl.pipeline(name=name, description=description)
    def retrain(repository: str = "/app", model: str = "failure_xgb", environment: str = "dev") -> str:
        common = {"repository": repository, "model": model, "environment": environment}
        t = train(**common)
        e = evaluate(**common, version=t.output)
        g = gate(**common, version=t.output, decision=e.output)
        a = alias(**common, version=t.output, gate=g.output)
        for task in (t, e, g, a):
            task.set_caching_options(False)
        return a.output

    return retrain
