"""runtime triton without a cluster or a Triton server: the InferenceService against KServe's CRD, the validation
rules, and config.pbtxt (as apply writes it) parsed by Triton's own ModelConfig protobuf (tritonclient).
The export itself and the rollout are covered end to end in tests/test_frameworks.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml
from integrations import EXAMPLES, thirdparty

from compiler.apply.steps.triton import config_text
from compiler.emit.compile import compile_project
from compiler.front.check import require_project
from compiler.output.crds import check_objects, load_crds

EXAMPLE = EXAMPLES / "maintenance"
DEPLOYMENT = "specs/deployments/failure_triton.yaml"


def custom_resources(root: Path) -> list[tuple[str, dict]]:
    out = []
    for art in compile_project(require_project(root)).artifacts:
        if art.path.startswith("k8s/") and not art.path.endswith("kustomization.yaml"):
            doc = yaml.safe_load(art.content)
            if doc["kind"] in ("InferenceService", "PodMonitor"):
                out.append((art.path, doc))
    return out


def test_the_inference_services_match_the_kserve_crd() -> None:
    objects = custom_resources(EXAMPLE)
    isvcs = [o for _, o in objects if o["kind"] == "InferenceService"]
    assert len(isvcs) == 1  # prod's: dev keeps its registry on the laptop (the laptop-only rule)
    for isvc in isvcs:
        model = isvc["spec"]["predictor"]["model"]
        assert model["modelFormat"] == {"name": "pytorch"} and model["runtime"] == "kserve-tritonserver"
        assert model["protocolVersion"] == "v2"
        assert isvc["metadata"]["annotations"]["specops.dev/storage-uri"] == "known-after-apply"
    findings, missing = check_objects(objects, load_crds(thirdparty("crds")))
    assert missing == [] and findings == []


def test_the_pod_monitor_scrapes_tritons_metrics_port() -> None:
    monitor = next(o for _, o in custom_resources(EXAMPLE) if o["kind"] == "PodMonitor")
    assert monitor["spec"]["podMetricsEndpoints"][0]["relabelings"][1]["replacement"] == "$1:8002"


def test_no_dashboard_for_triton() -> None:
    paths = [a.path for a in compile_project(require_project(EXAMPLE)).artifacts]
    assert not [p for p in paths if p.startswith("grafana/")]


def test_triton_needs_a_pytorch_model(repo, editor, validate_cli) -> None:
    root = repo(EXAMPLE)
    editor(root).replace(DEPLOYMENT, "  model: failure_net\n  environment: prod",
                         "  model: failure_xgb\n  environment: prod")
    result = validate_cli(root)
    assert result.exit_code == 1
    assert "triton-framework" in result.output
    assert "runtime triton serves models exported to TorchScript, and model 'failure_xgb' is a xgboost model" \
        in result.output
    assert f"{DEPLOYMENT}:11:" in result.output


def test_triton_refuses_alerts(repo, editor, validate_cli) -> None:
    root = repo(EXAMPLE)
    editor(root).replace(DEPLOYMENT, "    allow_from_namespaces: [maintenance-planner]\n",
                         "    allow_from_namespaces: [maintenance-planner]\n  monitoring:\n"
                         "    alerts: {error_rate: 0.01}\n")
    result = validate_cli(root)
    assert result.exit_code == 1
    assert "triton-alerts" in result.output and "monitoring.alerts is not supported with runtime triton" \
        in result.output


@pytest.mark.skipif(importlib.util.find_spec("tritonclient") is None,
                    reason="tritonclient[grpc] is not installed (make tools)")
@pytest.mark.parametrize(("outputs", "classes"), [(2, [0, 1]), (1, []), (3, ["a", "b \"c\""])])
def test_config_pbtxt_parses_as_a_triton_model_config(outputs: int, classes: list) -> None:
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2 as mc

    text = config_text("m_1", ["x", "y", "z"], outputs, classes)
    config = text_format.Parse(text, mc.ModelConfig())
    assert config.name == "m_1" and config.platform == "pytorch_libtorch" and config.max_batch_size == 64
    assert list(config.input[0].dims) == [3] and list(config.output[0].dims) == [outputs]
    assert config.parameters["specops_features"].string_value == "x,y,z"
    assert ("specops_classes" in config.parameters) == bool(classes)
    if classes:
        assert config.parameters["specops_classes"].string_value == ",".join(map(str, classes))
    # canonical form: what Triton would print for the same config
    assert text_format.Parse(text_format.MessageToString(config), mc.ModelConfig()) == config
