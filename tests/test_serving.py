"""The serving entrypoint (compiler/emit/docker/serve_app.py, shipped as serve.py in every serving image).

The slow test runs the generated serve.py exactly as the generated Dockerfile.serve starts it
(ENTRYPOINT + CMD, with its ENV), against a model registered in a throw-away MLflow SQLite
registry. The fast tests cover the metrics text and the probes without MLflow.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from test_docker_backend import image_config, map_paths

from compiler.emit.docker import emit
from compiler.emit.docker import serve_app as serving
from compiler.front.check import require_project

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "churn"

TRAIN = r"""
import json, sys
import mlflow
import pandas as pd
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression

tracking_uri, artifacts = sys.argv[1], sys.argv[2]
mlflow.set_tracking_uri(tracking_uri)
experiment = mlflow.create_experiment("serving-test", artifact_location=artifacts)
X = pd.DataFrame({"a": [0.0, 0.1, 0.2, 0.3, 0.7, 0.8, 0.9, 1.0], "b": [1.0, 0.9, 0.8, 0.7, 0.3, 0.2, 0.1, 0.0]})
y = [0, 0, 0, 0, 1, 1, 1, 1]
model = LogisticRegression(C=100.0).fit(X, y)
with mlflow.start_run(experiment_id=experiment):
    info = mlflow.sklearn.log_model(model, name="model", signature=infer_signature(X, model.predict(X)),
                                    registered_model_name="tiny")
mlflow.MlflowClient().set_registered_model_alias("tiny", "champion", info.registered_model_version)
"""


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def post(url: str, body: Any, timeout: float = 30) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def serve_files() -> dict[str, bytes]:
    return {a.path.rsplit("/", 1)[1]: a.content for a in emit(require_project(EXAMPLE))
            if a.path.startswith("docker/churn/") and a.path.count("/") == 2}


@pytest.fixture
def registry(tmp_path: Path) -> str:
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = subprocess.run([sys.executable, "-c", TRAIN, tracking_uri, (tmp_path / "artifacts").as_uri()],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HOME": str(tmp_path), "GIT_PYTHON_REFRESH": "quiet"})
    assert done.returncode == 0, done.stderr[-4000:]
    return tracking_uri


@pytest.fixture
def server(tmp_path: Path, serve_files: dict[str, bytes], registry: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """serve.py started as Dockerfile.serve says, with /app, /opt/specops and /tmp mapped into tmp_path."""
    app, tmp = tmp_path / "app", tmp_path / "tmp"
    app.mkdir()
    tmp.mkdir()
    (app / ".opt").mkdir()
    (app / "serve.py").write_bytes(serve_files["serve.py"])
    (app / ".opt/entrypoint.sh").write_bytes(serve_files["entrypoint.sh"])
    argv, env = map_paths(*image_config(serve_files["Dockerfile.serve"].decode()), app, tmp)
    argv = [sys.executable if a == "python" else a for a in argv]
    port = free_port()
    env.update({"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp), "PORT": str(port),
                "MODEL_URI": "models:/tiny@champion", "MLFLOW_TRACKING_URI": registry})
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(argv, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield f"http://127.0.0.1:{port}", proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


def wait_ready(base: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"serve.py exited with {proc.returncode}:\n{log.read_text()[-4000:]}"
        try:
            if get(f"{base}/health", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"serve.py not ready after {timeout} s:\n{log.read_text()[-4000:]}")


def test_dockerfile_command_is_what_the_test_runs(serve_files: dict[str, bytes]) -> None:
    argv, env = image_config(serve_files["Dockerfile.serve"].decode())
    assert argv == ["/bin/sh", "/opt/specops/entrypoint.sh", "python", "/app/serve.py"]
    assert env["PORT"] == "8000" and env["HOME"] == "/tmp"


@pytest.mark.slow
def test_serves_a_registered_model(server: tuple[str, subprocess.Popen], tmp_path: Path) -> None:
    base, proc = server
    wait_ready(base, proc, tmp_path / "serve.log")
    assert get(f"{base}/livez") == (200, b'{"status": "alive"}')
    assert json.loads(get(f"{base}/ping")[1]) == {"status": "ok"}

    split = {"dataframe_split": {"columns": ["a", "b"], "data": [[0.05, 0.95], [0.95, 0.05], [0.1, 0.9]]}}
    assert post(f"{base}/invocations", split) == (200, {"predictions": [0, 1, 0]})
    records = {"dataframe_records": [{"a": 1.0, "b": 0.0}, {"a": 0.0, "b": 1.0}]}
    assert post(f"{base}/invocations", records) == (200, {"predictions": [1, 0]})
    status, error = post(f"{base}/invocations", {"nonsense": []})
    assert status == 400 and error["error_code"] == "BAD_REQUEST" and "stack_trace" not in error

    status, text = get(f"{base}/metrics")
    metrics = text.decode()
    assert status == 200, metrics
    assert 'specops_serving_requests_total{route="/invocations",method="POST",code="200"} 2' in metrics
    assert 'specops_serving_request_errors_total{route="/invocations"} 1' in metrics
    assert 'specops_serving_request_duration_seconds_count{route="/invocations"} 3' in metrics
    assert 'specops_serving_model_loaded{model_uri="models:/tiny@champion"} 1' in metrics
    # the prediction distribution the dashboards plot: classes 0, 1, 0, 1, 0 (no task set: integers are classes)
    assert 'specops_serving_predictions_total{prediction="0"} 3' in metrics
    assert 'specops_serving_predictions_total{prediction="1"} 2' in metrics

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    # nothing was written outside the mapped /tmp
    assert sorted(p.name for p in (tmp_path / "app").iterdir()) == [".opt", "serve.py"]


@pytest.mark.slow
def test_exits_non_zero_when_the_model_cannot_be_loaded(tmp_path: Path, serve_files: dict[str, bytes]) -> None:
    script = tmp_path / "serve.py"
    script.write_bytes(serve_files["serve.py"])
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "TMPDIR": str(tmp_path),
           "PORT": str(free_port()), "MODEL_URI": "models:/missing@champion",
           "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'empty.db'}"}
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "could not load models:/missing@champion" in done.stderr


# --------------------------------------------------------------------------- without MLflow


class FakeScorer(serving.Scorer):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[bytes, str]] = []

    def score(self, body: bytes, content_type: str) -> tuple[int, str, bytes]:
        self.calls.append((body, content_type))
        return 200, "application/json", b'{"predictions": [1]}'


@pytest.fixture
def local_server() -> Iterator[tuple[str, FakeScorer, serving.Metrics]]:
    scorer, metrics = FakeScorer(), serving.Metrics(model_uri='models:/x@"a"')
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), serving.make_handler(scorer, metrics, max_body=64))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", scorer, metrics
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_readiness_waits_for_the_model_and_liveness_does_not(local_server) -> None:
    base, scorer, _ = local_server
    assert get(f"{base}/livez")[0] == 200
    assert get(f"{base}/health") == (503, b'{"status": "loading"}')
    assert post(f"{base}/invocations", {"inputs": [1]})[0] == 503
    scorer.model = object()
    for path in ("/health", "/ping", "/readyz"):
        assert get(f"{base}{path}") == (200, b'{"status": "ok"}')
    assert post(f"{base}/invocations", {"inputs": [1]}) == (200, {"predictions": [1]})
    assert scorer.calls == [(b'{"inputs": [1]}', "application/json")]


def test_rejects_oversized_bodies_and_unknown_routes(local_server) -> None:
    base, scorer, metrics = local_server
    scorer.model = object()
    assert post(f"{base}/invocations", {"inputs": ["x" * 100]})[0] == 413
    assert get(f"{base}/nope")[0] == 404
    assert post(f"{base}/other", {})[0] == 404
    assert scorer.calls == []
    text = metrics.render()
    assert 'specops_serving_requests_total{route="other",method="GET",code="404"} 1' in text
    assert 'specops_serving_requests_total{route="/invocations",method="POST",code="413"} 1' in text


def test_metrics_text_format() -> None:
    metrics = serving.Metrics(model_uri='models:/m@"x"\\y')
    metrics.observe("/invocations", "POST", 200, 0.02)
    metrics.observe("/invocations", "POST", 500, 3.0)
    text = metrics.render()
    assert text.endswith("\n")
    assert "# TYPE specops_serving_request_duration_seconds histogram" in text
    assert 'specops_serving_request_duration_seconds_bucket{route="/invocations",le="0.025"} 1' in text
    assert 'specops_serving_request_duration_seconds_bucket{route="/invocations",le="5.0"} 2' in text
    assert 'specops_serving_request_duration_seconds_bucket{route="/invocations",le="+Inf"} 2' in text
    assert 'specops_serving_request_errors_total{route="/invocations"} 1' in text
    assert 'model_uri="models:/m@\\"x\\"\\\\y"' in text
    for line in text.splitlines():  # every sample line is `name{labels} value`
        if not line.startswith("#"):
            float(line.rsplit(" ", 1)[1])


def test_predictions_per_class_or_as_a_histogram() -> None:
    classes = serving.Metrics(task="classification")
    classes.observe_predictions([0, 1, 1.0, True, "churn", [0.2, 0.8], None, {"a": 1}])
    text = classes.render()
    assert 'specops_serving_predictions_total{prediction="1"} 2' in text
    assert 'specops_serving_predictions_total{prediction="true"} 1' in text
    assert 'specops_serving_predictions_total{prediction="churn"} 1' in text
    assert "specops_serving_prediction_value_count 0" in text
    many = serving.Metrics(task="classification")
    many.observe_predictions([str(i) for i in range(serving.MAX_CLASSES + 10)])
    assert f'prediction="{serving.OTHER_CLASS}"}} 10' in many.render()  # the label set stays bounded
    values = serving.Metrics(task="regression", prediction_bounds=(0.0, 1.0, 10.0))
    values.observe_predictions([0.5, 2, 20.0, -1, "x"])
    text = values.render()
    assert 'specops_serving_prediction_value_bucket{le="0.0"} 1' in text
    assert 'specops_serving_prediction_value_bucket{le="1.0"} 2' in text
    assert 'specops_serving_prediction_value_bucket{le="10.0"} 3' in text
    assert 'specops_serving_prediction_value_bucket{le="+Inf"} 4' in text
    assert "specops_serving_prediction_value_sum 21.5" in text and "predictions_total{" not in text


def test_the_alert_rules_name_the_metrics_the_serving_app_exports() -> None:
    from compiler.emit import serving_metrics
    from compiler.emit.docker import serve_app as serving
    from compiler.emit.kubernetes import monitoring

    assert monitoring.METRIC_PREFIX == serving.METRIC_PREFIX == serving_metrics.METRIC_PREFIX
    exported = {line.split()[2] for line in serving.Metrics().render().splitlines() if line.startswith("# TYPE ")}
    mlflow = serving_metrics.REQUEST_METRICS["mlflow"]
    assert {serving_metrics.PREDICTIONS, serving_metrics.PREDICTION_VALUE, mlflow.counter, mlflow.histogram} <= exported
