"""Every custom resource specops emits (KServe InferenceService, Seldon Model and Experiment, ServiceMonitor,
PodMonitor, PrometheusRule) validates against its CRD's openAPIV3Schema, unknown fields being errors.

The CRDs are the projects' own (thirdparty/crds). Seldon comes from a copy of churn served by Seldon
with a canary, as neither example uses it; so does KServe's canaryTrafficPercent.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import RepoEditor
from integrations import EXAMPLES, SERVING_EXAMPLES, thirdparty

from compiler.emit.compile import compile_project
from compiler.front.check import require_project
from compiler.output.crds import check_objects, load_crds

KINDS = {"InferenceService", "Model", "Experiment", "ServiceMonitor", "PodMonitor", "PrometheusRule"}


@pytest.fixture(scope="module")
def schemas() -> dict:
    return load_crds(thirdparty("crds"))


def custom_resources(root: Path) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for art in compile_project(require_project(root)).artifacts:
        if art.path.startswith("k8s/") and not art.path.endswith("kustomization.yaml"):
            doc = yaml.safe_load(art.content)
            if doc["kind"] in KINDS:
                found.append((art.path, doc))
    return found


def _canaried_copy(tmp_path_factory: pytest.TempPathFactory, runtime: str) -> Path:
    import shutil

    root = tmp_path_factory.mktemp(runtime) / "churn"
    shutil.copytree(EXAMPLES / "churn", root, ignore=shutil.ignore_patterns("build", ".specops"))
    RepoEditor(root).replace("specs/deployments/churn_api.yaml", "runtime: kserve",
                             f"runtime: {runtime}\n  rollout: {{canary_percent: 10}}")
    return root


@pytest.fixture(scope="module")
def seldon(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _canaried_copy(tmp_path_factory, "seldon")


@pytest.fixture(scope="module")
def kserve_canary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _canaried_copy(tmp_path_factory, "kserve")


@pytest.mark.parametrize("source", [*SERVING_EXAMPLES, "seldon", "kserve_canary"])
def test_custom_resources_match_their_crds(source: str, schemas: dict, request: pytest.FixtureRequest) -> None:
    root = request.getfixturevalue(source) if source in ("seldon", "kserve_canary") else EXAMPLES / source
    objects = custom_resources(root)
    findings, missing = check_objects(objects, schemas)
    assert missing == [] and findings == []
    assert len(objects) >= 3


def test_every_custom_kind_is_covered(schemas: dict, seldon: Path) -> None:
    kinds = {obj["kind"] for root in (EXAMPLES / "churn", EXAMPLES / "fraud", seldon)
             for _, obj in custom_resources(root)}
    assert kinds == KINDS


@pytest.mark.parametrize("where", [("spec",), ("spec", "predictor"), ("spec", "predictor", "model")])
def test_an_unknown_field_is_an_error(schemas: dict, where: tuple[str, ...]) -> None:
    (path, isvc), = [(p, o) for p, o in custom_resources(EXAMPLES / "churn") if o["kind"] == "InferenceService"]
    bad = copy.deepcopy(isvc)
    node = bad
    for key in where:
        node = node[key]
    node["canaryTrafficPercnt"] = 10
    findings, _ = check_objects([(path, bad)], schemas)
    assert len(findings) == 1 and "canaryTrafficPercnt" in findings[0].message
    assert findings[0].message.startswith(".".join(where) if where else "(root)")


def test_a_wrong_type_and_a_missing_crd_are_reported(schemas: dict) -> None:
    (path, rule), = [(p, o) for p, o in custom_resources(EXAMPLES / "fraud") if o["kind"] == "PrometheusRule"][:1]
    bad = copy.deepcopy(rule)
    bad["spec"]["groups"][0]["rules"][0]["for"] = 5
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    findings, missing = check_objects([(path, bad), ("w.yaml", unknown)], schemas)
    assert [f.message.split(":")[0] for f in findings] == ["spec.groups.0.rules.0.for"]
    assert missing == [("example.com/v1", "Widget")]
