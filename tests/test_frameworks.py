"""Models beyond scikit-learn, for real: examples/maintenance applied to dev (dbt on DuckDB, MLflow with a SQLite
registry) trains a PyTorch classifier, an XGBoost classifier and a LightGBM regressor through the one train()
contract; each is logged with its own MLflow flavour (signature, input example), registered, gated and aliased,
loads back through pyfunc, and the PyTorch model answers through the serving app with labels and probabilities.
A second version is gated against the champion re-scored through pyfunc.

Needs torch (the CPU build), xgboost and lightgbm (`make tools` installs them into .venv; CI does); skips
without them.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from apply_support import ENV, git, ok
from dbt_support import requires_dbt

from compiler.emit.docker import serve_app

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = REPO_ROOT / "examples" / "maintenance"
MISSING = [m for m in ("torch", "xgboost", "lightgbm", "mlflow", "duckdb") if importlib.util.find_spec(m) is None]

pytestmark = [
    pytest.mark.slow, requires_dbt,
    pytest.mark.skipif(bool(MISSING), reason=f"not installed: {', '.join(MISSING)} (make tools installs the "
                                             "ML frameworks into .venv)"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),  # kfp.local: a non-Python image run in this Python
]


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import shutil

    root = tmp_path_factory.mktemp("maintenance") / "maintenance"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("build", ".specops", "__pycache__"))
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", "maintenance specs")
    ok(root, "apply", "--yes")
    return root


def tracking(root: Path) -> str:
    return f"sqlite:///{root / '.specops' / 'mlflow.db'}"


def client(root: Path):
    from mlflow import MlflowClient

    return MlflowClient(tracking(root))


def features(root: Path, n: int = 8):
    import duckdb

    con = duckdb.connect(str(root / ".specops" / "dev.duckdb"), read_only=True)
    try:
        return con.execute("select temperature_c, vibration_mm_s, pressure_bar, age_years, failed_within_7d, "
                           f"hours_to_service from main.machine_features order by reading_id limit {n}").df()
    finally:
        con.close()


def mlmodel(root: Path, name: str) -> dict[str, Any]:
    """The MLmodel file of the version the alias points at."""
    import mlflow.artifacts

    mlflow.set_tracking_uri(tracking(root))
    path = mlflow.artifacts.download_artifacts(f"models:/{name}@champion/MLmodel",
                                               dst_path=str(root / ".specops" / f"dl-{name}"))
    return yaml.safe_load(Path(path).read_text())


FEATURES = ["temperature_c", "vibration_mm_s", "pressure_bar", "age_years"]


@pytest.mark.parametrize(("name", "flavour"), [("failure_net", "pytorch"), ("failure_xgb", "xgboost"),
                                               ("service_lgbm", "lightgbm")])
def test_each_framework_is_logged_with_its_own_flavour(applied: Path, name: str, flavour: str) -> None:
    doc = mlmodel(applied, name)
    assert set(doc["flavors"]) == {flavour, "python_function"}
    inputs = json.loads(doc["signature"]["inputs"])
    assert [i["name"] for i in inputs] == FEATURES
    assert doc["saved_input_example_info"]["type"] == "dataframe"
    meta = doc["metadata"]["specops"]
    if name == "service_lgbm":
        assert meta["task"] == "regression" and "output" not in meta
    else:
        assert meta == {"task": "classification", "decision_threshold": None, "output": "probabilities",
                        "classes": [0, 1]}


def test_registered_gated_and_aliased(applied: Path) -> None:
    state = json.loads((applied / ".specops" / "state" / "dev.json").read_text())
    models = state["models"]
    for name in ("failure_net", "failure_xgb", "service_lgbm"):
        assert models[name]["decision"] == "promoted", models[name]
        assert models[name]["alias_version"] == 1
    assert models["failure_net"]["metrics"]["roc_auc"] >= 0.8
    assert models["service_lgbm"]["metrics"]["r2"] >= 0.5


def test_pyfunc_predicts_with_every_flavour(applied: Path) -> None:
    import mlflow.pyfunc
    import numpy as np

    mlflow.set_tracking_uri(tracking(applied))
    rows = features(applied)
    X = rows[FEATURES]
    net = np.asarray(mlflow.pyfunc.load_model("models:/failure_net@champion").predict(X))
    assert net.shape == (8, 2) and np.allclose(net.sum(axis=1), 1, atol=1e-5)
    xgb = np.asarray(mlflow.pyfunc.load_model("models:/failure_xgb@champion").predict(X))
    assert xgb.shape == (8,) and ((xgb >= 0) & (xgb <= 1)).all()  # the Booster: P(failure)
    raw = mlflow.xgboost.load_model("models:/failure_xgb@champion")
    assert type(raw).__name__ == "Booster"
    hours = np.asarray(mlflow.pyfunc.load_model("models:/service_lgbm@champion").predict(X))
    assert hours.shape == (8,)
    assert np.corrcoef(hours, rows["hours_to_service"])[0, 1] > 0.8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("name", ["failure_net", "failure_xgb"])
def test_the_serving_app_answers_labels_and_probabilities(applied: Path, tmp_path: Path, name: str) -> None:
    port = free_port()
    env = {**ENV, "MODEL_URI": f"models:/{name}@champion", "MLFLOW_TRACKING_URI": tracking(applied),
           "PORT": str(port), "HOST": "127.0.0.1", "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, serve_app.__file__], cwd=tmp_path, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-4000:]
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()[-4000:]
            time.sleep(0.3)
        rows = features(applied, 4)[FEATURES]
        body = json.dumps({"dataframe_split": {"columns": FEATURES, "data": rows.to_numpy().tolist()}}).encode()
        req = urllib.request.Request(f"{base}/invocations", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            answer = json.loads(r.read())
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
    assert answer["classes"] == [0, 1]
    assert len(answer["probabilities"]) == 4 and all(abs(sum(p) - 1) < 1e-4 for p in answer["probabilities"])
    assert answer["predictions"] == [int(p[1] >= p[0]) for p in answer["probabilities"]]


def test_a_new_version_is_gated_against_the_champion_rescored_through_pyfunc(applied: Path, tmp_path: Path) -> None:
    import shutil

    root = Path(shutil.copytree(applied, tmp_path / "fork", symlinks=True))
    for name, old, new in (("failure_net", "epochs: 150", "epochs: 120"),
                           ("failure_xgb", "n_estimators: 40", "n_estimators: 30")):
        spec = root / "specs" / "models" / f"{name}.yaml"
        spec.write_text(spec.read_text().replace(old, new))
    out = ok(root, "apply", "--yes").output
    for name in ("failure_net", "failure_xgb"):
        assert f"registered {name} version 2" in out, out
        run_data = client(root).get_run(client(root).get_model_version(name, "2").run_id).data
        assert run_data.tags["specops.compared_with"] == "1", out
        assert "specops.decision_notes" not in run_data.tags, run_data.tags  # no "could not be scored"
        # the champion scored through pyfunc on the candidate's holdout (the same rows as its own)
        champion = client(root).get_run(client(root).get_model_version(name, "1").run_id).data
        assert run_data.metrics["champion_roc_auc"] == pytest.approx(champion.metrics["roc_auc"])


def test_triton_model_repository_is_exported_and_rolled_out(applied: Path) -> None:
    """The InferenceService rendered with the applied version points at its Triton repository (apply exports it);
    config.pbtxt parses with Triton's own ModelConfig protobuf, and the TorchScript model answers what the
    registered model answers. (dev keeps its registry on the laptop, so only prod's cluster serves: the manifest is
    rendered for prod with the version dev's apply registered, as a rollout there would.)"""
    pytest.importorskip("tritonclient.grpc", reason="tritonclient[grpc] is not installed (make tools)")
    import mlflow.pyfunc
    import numpy as np
    import torch
    from google.protobuf import text_format
    from mlflow.tracking import MlflowClient
    from tritonclient.grpc import model_config_pb2 as mc

    from compiler.apply.steps.triton import repository_uri
    from compiler.emit.kubernetes import ResolvedModel, render
    from compiler.front.check import require_project

    mlflow.set_tracking_uri(tracking(applied))
    client = MlflowClient()
    version = int(client.get_model_version_by_alias("failure_net", "champion").version)
    resolved = {"failure_net": ResolvedModel(version, f"models:/failure_net/{version}",
                                             repository_uri(client, "failure_net", version))}
    (art,) = [a for a in render(require_project(applied), resolved, only="prod")
              if a.path.endswith("failure-triton.inferenceservice.yaml")]
    isvc = yaml.safe_load(art.content)
    model = isvc["spec"]["predictor"]["model"]
    assert model["runtime"] == "kserve-tritonserver" and model["modelFormat"] == {"name": "pytorch"}
    assert model["protocolVersion"] == "v2"
    assert "specops.dev/storage-uri" not in isvc["metadata"]["annotations"]
    repo = Path(model["storageUri"].removeprefix("file://"))
    assert repo.name == "triton" and repo.is_dir(), model["storageUri"]
    assert sorted(str(p.relative_to(repo)) for p in repo.rglob("*") if p.is_file()) == [
        "failure_net/1/model.pt", "failure_net/config.pbtxt"]

    config = text_format.Parse((repo / "failure_net" / "config.pbtxt").read_text(), mc.ModelConfig())
    assert config.name == "failure_net" and config.platform == "pytorch_libtorch"
    assert config.max_batch_size == 64 and config.HasField("dynamic_batching")
    (inp,), (out,) = config.input, config.output
    assert (inp.name, mc.DataType.Name(inp.data_type), list(inp.dims)) == ("INPUT__0", "TYPE_FP32", [4])
    assert (out.name, mc.DataType.Name(out.data_type), list(out.dims)) == ("OUTPUT__0", "TYPE_FP32", [2])
    assert config.parameters["specops_features"].string_value == ",".join(FEATURES)
    assert config.parameters["specops_classes"].string_value == "0,1"
    assert mc.ModelInstanceGroup.Kind.Name(config.instance_group[0].kind) == "KIND_CPU"

    X = features(applied, 16)[FEATURES]
    scripted = torch.jit.load(str(repo / "failure_net" / "1" / "model.pt"))
    with torch.no_grad():
        got = scripted(torch.tensor(X.to_numpy(dtype="float32"))).numpy()
    want = np.asarray(mlflow.pyfunc.load_model("models:/failure_net@champion").predict(X))
    assert got.shape == (16, 2) and np.allclose(got, want, atol=1e-5)


def run_kfp_pipeline(root: Path, tmp_path: Path) -> Any:
    """The compiled Kubeflow pipeline of failure_xgb run by kfp.local's SubprocessRunner in this Python (no Docker,
    no venv per task), on the repository at `root`; the pipeline's output."""
    pytest.importorskip("kfp", reason="kfp is not installed (make tools)")
    from kfp import components, local

    from compiler.emit.compile import compile_project
    from compiler.front.check import require_project

    (art,) = [a for a in compile_project(require_project(root)).artifacts
              if a.path == "kubeflow/dev/failure_xgb-retrain.yaml"]
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "pipeline.yaml").write_bytes(art.content)
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "kfp"),
               raise_on_error=True)
    pipeline = components.load_component_from_file(str(tmp_path / "pipeline.yaml"))
    return pipeline(repository=str(root), environment="dev").output


def test_the_kubeflow_pipeline_gates_then_moves_the_alias(applied: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A run whose candidate fails the gate stops at the gate task (alias untouched); with the gate fixed, the next
    run reuses that candidate (same data, code and settings), passes the gate and moves the alias."""
    import shutil

    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    root = Path(shutil.copytree(applied, tmp_path / "fork", symlinks=True))
    spec = root / "specs" / "models" / "failure_xgb.yaml"
    text = spec.read_text().replace("n_estimators: 40", "n_estimators: 35")
    spec.write_text(text.replace("{name: roc_auc, min: 0.75}", "{name: roc_auc, min: 0.99}"))
    with pytest.raises(RuntimeError, match=r"FAILURE.*Inner task failed: \S*'gate'"):
        run_kfp_pipeline(root, tmp_path / "failing")
    c = client(root)
    assert int(c.get_model_version_by_alias("failure_xgb", "champion").version) == 1  # alias not moved
    assert c.get_model_version("failure_xgb", "2").tags["specops.decision"] == "rejected"
    assert not list((tmp_path / "failing" / "kfp").glob("*/alias"))  # the alias task never ran

    spec.write_text(text)
    assert run_kfp_pipeline(root, tmp_path / "passing") == "alias champion -> version 2"
    assert int(c.get_model_version_by_alias("failure_xgb", "champion").version) == 2
    assert c.get_model_version("failure_xgb", "2").tags["specops.decision"] == "promoted"
    assert sorted(int(v.version) for v in c.search_model_versions("name='failure_xgb'")) == [1, 2]  # reused
