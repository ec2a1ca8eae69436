"""Serve one registered MLflow model over HTTP: the entrypoint of every serving image.

The docker backend copies this file, unchanged but for a header, into each model's build
folder as `serve.py`; the image runs it as `python /app/serve.py`. So it imports nothing from
specops: only the standard library, and MLflow once the server is up.

The model is loaded once at start-up from the MLflow registry; requests are parsed and scored by
MLflow's own scoring code (`mlflow.pyfunc.scoring_server.invocations`), so the request and
response formats are exactly those of `mlflow models serve`. Around it sits a small threaded
stdlib HTTP server that adds probes and Prometheus metrics.

Environment:
    MODEL_URI            required: models:/<name>@<alias>, models:/<name>/<version>, runs:/..., a path
    MLFLOW_TRACKING_URI  where the registry is (read by MLflow itself)
    PORT                 default 8000; HOST default 0.0.0.0
    SERVING_MAX_BODY_BYTES  largest accepted request body, default 33554432 (32 MiB)
    SPECOPS_MODEL_TASK   classification (count predictions per class) or regression (a histogram of the
                         predicted values); unset: classes for text, integers and booleans, values for floats
    SERVING_PREDICTION_BUCKETS  upper bounds of the prediction histogram, comma-separated (regression)

Routes:
    GET  /livez                 200 while the process serves (liveness)
    GET  /health /ping /readyz  200 {"status": "ok"} once the model is loaded, 503 before (readiness)
    GET  /version               MLflow version and model URI
    GET  /metrics               Prometheus text format: requests by route/method/code, the scoring
                                latency histogram, and the predictions (per class, or a histogram)
    POST /invocations           MLflow scoring protocol: JSON with one of dataframe_split,
                                dataframe_records, instances, inputs (or text/csv); answers
                                {"predictions": [...]}, and for a classifier also the probabilities
                                (see below)

Classifiers: a model that specops logged with probabilities (its MLmodel metadata says
`specops: {output: probabilities, classes: [...], decision_threshold: t}`) answers

    {"predictions": [1, 0], "probabilities": [[0.17, 0.83], [0.91, 0.09]], "classes": [0, 1]}

`predictions` are labels, as MLflow's scoring server gives them, so MLflow clients keep working; each row of
`probabilities` has one probability per class, in the order of `classes`. A binary classifier's label is
the second class when its probability is at least the decision threshold t (the Model's
decision_threshold), else the first; without t, and with more classes, it is the most probable class.
The flavours' own shapes of probabilities are read too (probability_row): PyTorch's records and a binary
XGBoost/LightGBM Booster's one probability per row. Any other model's answer is MLflow's, unchanged.

The process writes nothing but what MLflow downloads into the temporary folder (TMPDIR), so it
runs with a read-only root filesystem and a writable /tmp. SIGTERM stops it cleanly.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOG = logging.getLogger("specops.serving")

DEFAULT_PORT = 8000
DEFAULT_MAX_BODY = 32 * 1024 * 1024
METRIC_PREFIX = "specops_serving"
READY_PATHS = ("/health", "/ping", "/readyz")
ROUTES = (*READY_PATHS, "/livez", "/version", "/metrics", "/invocations")
# Prometheus' default buckets, in seconds
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# predicted values (regression), unless SERVING_PREDICTION_BUCKETS says otherwise
PREDICTION_BUCKETS = (-1000.0, -100.0, -10.0, -1.0, 0.0, 1.0, 10.0, 100.0, 1000.0, 10000.0)
MAX_CLASSES = 50  # distinct class labels counted; more are counted as "__other__" (bounded label set)
OTHER_CLASS = "__other__"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


@dataclass
class Metrics:
    """Request counters and the /invocations latency histogram, safe to update from many threads."""

    model_uri: str = ""
    requests: dict[tuple[str, str, int], int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=lambda: {"/invocations": 0})  # answered with >= 400
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    latency_sum: float = 0.0
    latency_count: int = 0
    loaded: bool = False
    load_seconds: float = 0.0
    task: str = ""  # classification | regression | "" (decide per value)
    prediction_bounds: tuple[float, ...] = PREDICTION_BUCKETS
    classes: dict[str, int] = field(default_factory=dict)
    values: list[int] = field(default_factory=list)  # per bound of prediction_bounds (not cumulative)
    values_sum: float = 0.0
    values_count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        with self.lock:
            key = (route, method, status)
            self.requests[key] = self.requests.get(key, 0) + 1
            if route == "/invocations":
                if status >= 400:
                    self.errors[route] += 1
                self.latency_sum += seconds
                self.latency_count += 1
                for i, bound in enumerate(BUCKETS):
                    if seconds <= bound:
                        self.buckets[i] += 1

    def observe_predictions(self, predictions: list[Any]) -> None:
        """Count the scalar predictions of one answer: per class, or into the value histogram."""
        with self.lock:
            if not self.values:
                self.values = [0] * len(self.prediction_bounds)
            for value in predictions:
                if isinstance(value, (list, dict)) or value is None:
                    continue  # multi-output or structured predictions: not one class or value
                numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
                if self.task == "regression" or (not self.task and isinstance(value, float)):
                    if numeric:
                        self._observe_value(float(value))
                    continue
                label = _class_label(value)
                if label not in self.classes and len(self.classes) >= MAX_CLASSES:
                    label = OTHER_CLASS
                self.classes[label] = self.classes.get(label, 0) + 1

    def _observe_value(self, value: float) -> None:
        self.values_sum += value
        self.values_count += 1
        for i, bound in enumerate(self.prediction_bounds):
            if value <= bound:
                self.values[i] += 1
                break

    def render(self) -> str:
        """The Prometheus text exposition format (version 0.0.4)."""
        p = METRIC_PREFIX
        inv = 'route="/invocations"'
        with self.lock:
            lines = [f"# HELP {p}_requests_total HTTP requests answered, by route, method and status code.",
                     f"# TYPE {p}_requests_total counter"]
            lines += [f'{p}_requests_total{{route="{_label(r)}",method="{_label(m)}",code="{s}"}} {n}'
                      for (r, m, s), n in sorted(self.requests.items())]
            lines += [f"# HELP {p}_request_errors_total Scoring requests answered with a status of 400 or more.",
                      f"# TYPE {p}_request_errors_total counter"]
            lines += [f'{p}_request_errors_total{{route="{_label(r)}"}} {n}'
                      for r, n in sorted(self.errors.items())]
            lines += [f"# HELP {p}_request_duration_seconds Time to answer POST /invocations.",
                      f"# TYPE {p}_request_duration_seconds histogram"]
            lines += [f'{p}_request_duration_seconds_bucket{{{inv},le="{b}"}} {n}'
                      for b, n in zip(BUCKETS, self.buckets, strict=True)]
            lines += [f'{p}_request_duration_seconds_bucket{{{inv},le="+Inf"}} {self.latency_count}',
                      f"{p}_request_duration_seconds_sum{{{inv}}} {self.latency_sum!r}",
                      f"{p}_request_duration_seconds_count{{{inv}}} {self.latency_count}",
                      f"# HELP {p}_model_loaded 1 once the model is loaded and requests are scored.",
                      f"# TYPE {p}_model_loaded gauge",
                      f'{p}_model_loaded{{model_uri="{_label(self.model_uri)}"}} {int(self.loaded)}',
                      f"# HELP {p}_model_load_seconds Time it took to load the model.",
                      f"# TYPE {p}_model_load_seconds gauge",
                      f"{p}_model_load_seconds {self.load_seconds!r}"]
            lines += [f"# HELP {p}_predictions_total Predictions answered, by predicted class.",
                      f"# TYPE {p}_predictions_total counter"]
            lines += [f'{p}_predictions_total{{prediction="{_label(c)}"}} {n}' for c, n in sorted(self.classes.items())]
            lines += [f"# HELP {p}_prediction_value Predicted values (regression).",
                      f"# TYPE {p}_prediction_value histogram"]
            running = 0
            for bound, n in zip(self.prediction_bounds, self.values or [0] * len(self.prediction_bounds),
                                strict=True):
                running += n
                lines.append(f'{p}_prediction_value_bucket{{le="{bound!r}"}} {running}')
            lines += [f'{p}_prediction_value_bucket{{le="+Inf"}} {self.values_count}',
                      f"{p}_prediction_value_sum {self.values_sum!r}",
                      f"{p}_prediction_value_count {self.values_count}"]
        return "\n".join(lines) + "\n"


def _class_label(value: Any) -> str:
    """A predicted class as a label value: 1.0 and 1 are the class "1", True is "true"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)[:100]


def _predictions(content_type: str, payload: bytes) -> list[Any]:
    """The predictions of a successful MLflow scoring answer ({"predictions": [...]}), else none."""
    if "json" not in content_type:
        return []
    try:
        data = json.loads(payload)
    except ValueError:
        return []
    found = data.get("predictions") if isinstance(data, dict) else None
    return found if isinstance(found, list) else []


@dataclass
class Scorer:
    """The loaded model and the MLflow function that scores a request body with it."""

    model: Any = None
    input_schema: Any = None
    invocations: Callable[..., Any] | None = None
    classes: list[Any] | None = None  # set when the model's pyfunc answers class probabilities
    threshold: float | None = None

    @property
    def ready(self) -> bool:
        return self.model is not None

    def load(self, model_uri: str) -> None:
        import mlflow.pyfunc
        from mlflow.environment_variables import _MLFLOW_IS_IN_SERVING_ENVIRONMENT
        from mlflow.pyfunc import scoring_server

        # what MLflow's own scoring server sets: some flavours behave differently when serving
        os.environ[_MLFLOW_IS_IN_SERVING_ENVIRONMENT.name] = "true"
        model = mlflow.pyfunc.load_model(model_uri)
        self.input_schema = model.metadata.get_input_schema()
        self.classes, self.threshold = probability_output(model.metadata.metadata)
        self.invocations = scoring_server.invocations
        self.model = model

    def score(self, body: bytes, content_type: str) -> tuple[int, str, bytes]:
        """(status, content type, body) of the answer to POST /invocations."""
        from mlflow.exceptions import MlflowException

        assert self.invocations is not None
        try:
            result = self.invocations(body, content_type, self.model, self.input_schema)
        except MlflowException as exc:
            LOG.warning("invocation failed: %s", exc.message[:2000])
            error = {"error_code": exc.error_code, "message": exc.message[:2000]}
            return exc.get_http_status_code(), "application/json", json.dumps(error).encode()
        except Exception:  # a model's own failure must not kill the worker thread
            LOG.exception("invocation failed")
            error = {"error_code": "INTERNAL_ERROR", "message": "the model failed to score the request"}
            return 500, "application/json", json.dumps(error).encode()
        body_out = result.response
        if self.classes is not None and result.status == 200:
            body_out = with_labels(body_out, self.classes, self.threshold)
        return result.status, result.mimetype, body_out.encode("utf-8")


def probability_output(metadata: dict[str, Any] | None) -> tuple[list[Any] | None, float | None]:
    """(classes, decision threshold) when the model's MLmodel metadata says it predicts class probabilities."""
    info = (metadata or {}).get("specops") or {}
    classes = info.get("classes")
    if info.get("output") != "probabilities" or not isinstance(classes, list) or len(classes) < 2:
        return None, None
    threshold = info.get("decision_threshold")
    return classes, float(threshold) if isinstance(threshold, (int, float)) else None


def with_labels(response: str, classes: list[Any], threshold: float | None) -> str:
    """MLflow's answer of probabilities, as labels in `predictions` with the probabilities beside them."""
    data = json.loads(response)
    rows = data.get("predictions") if isinstance(data, dict) else None
    if isinstance(rows, list):
        rows = [probability_row(r, len(classes)) for r in rows]
    if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) == len(classes) for r in rows):
        return response  # not the shape a probabilities model gives: pass MLflow's answer on
    labels = []
    for row in rows:
        if threshold is not None and len(classes) == 2:
            labels.append(classes[1] if row[1] >= threshold else classes[0])
        else:
            labels.append(classes[max(range(len(row)), key=row.__getitem__)])
    return json.dumps({"predictions": labels, "probabilities": rows, "classes": classes})


def probability_row(row: Any, n_classes: int) -> Any:
    """One row of class probabilities as a list, from the shapes MLflow flavours answer with: a list already;
    a record {"0": p0, "1": p1, ...} (a DataFrame's, e.g. PyTorch's); one float, the second class's
    probability, for two classes (an XGBoost or LightGBM Booster's; an integer is a label, not a probability).
    Anything else is returned as it is."""
    if isinstance(row, dict) and sorted(map(str, row)) == sorted(str(i) for i in range(n_classes)):
        return [row[k] for k in sorted(row, key=lambda k: int(k))]
    if isinstance(row, float) and n_classes == 2:
        return [1.0 - float(row), float(row)]
    return row


def make_handler(scorer: Scorer, metrics: Metrics, max_body: int) -> type[BaseHTTPRequestHandler]:
    """The request handler class, bound to one model and one metrics registry."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "specops-serving"
        timeout = 120  # seconds a connection may stay idle or slow

        def do_GET(self) -> None:
            self._timed("GET", self._get)

        def do_POST(self) -> None:
            self._timed("POST", self._post)

        def _timed(self, method: str, answer: Callable[[str], int]) -> None:
            self._started = time.perf_counter()
            self._method = method
            path = self.path.split("?", 1)[0]
            self._route = path if path in ROUTES else "other"  # unknown paths must not grow the label set
            answer(path)

        def _get(self, path: str) -> int:
            if path in READY_PATHS:
                ready = scorer.ready
                return self._json(200 if ready else 503, {"status": "ok" if ready else "loading"})
            if path == "/livez":
                return self._json(200, {"status": "alive"})
            if path == "/version":
                return self._json(200, {"mlflow": _mlflow_version(), "model_uri": metrics.model_uri})
            if path == "/metrics":
                return self._send(200, "text/plain; version=0.0.4; charset=utf-8", metrics.render().encode())
            return self._json(404, {"error_code": "NOT_FOUND", "message": f"no route {path}"})

        def _post(self, path: str) -> int:
            if path != "/invocations":
                self.close_connection = True  # the body was not read
                return self._json(404, {"error_code": "NOT_FOUND", "message": f"no route {path}"})
            return self._invocations()

        def _invocations(self) -> int:
            length = self.headers.get("Content-Length")
            if length is None or not length.isdigit():
                self.close_connection = True
                return self._json(411, {"error_code": "BAD_REQUEST", "message": "Content-Length is required"})
            if int(length) > max_body:
                self.close_connection = True
                return self._json(413, {"error_code": "BAD_REQUEST",
                                        "message": f"the body is larger than {max_body} bytes"})
            body = self.rfile.read(int(length))
            if not scorer.ready:
                return self._json(503, {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "model loading"})
            status, content_type, payload = scorer.score(body, self.headers.get("Content-Type") or
                                                         "application/json")
            if status == 200:
                metrics.observe_predictions(_predictions(content_type, payload))
            return self._send(status, content_type, payload)

        def _json(self, status: int, data: dict[str, Any]) -> int:
            return self._send(status, "application/json", json.dumps(data).encode())

        def _send(self, status: int, content_type: str, payload: bytes) -> int:
            # counted before the answer leaves, so a client never sees a response its metrics miss
            metrics.observe(self._route, self._method, status, time.perf_counter() - self._started)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return status

        def log_message(self, format: str, *args: Any) -> None:
            LOG.debug("%s " + format, self.address_string(), *args)

    return Handler


def _mlflow_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mlflow")
    except PackageNotFoundError:
        return "unknown"


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise SystemExit(f"serve: {name} must be a positive integer, not {raw!r}")
    return int(raw)


def _env_buckets(name: str) -> tuple[float, ...]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return PREDICTION_BUCKETS
    try:
        bounds = tuple(sorted({float(x) for x in raw.split(",") if x.strip()}))
    except ValueError:
        raise SystemExit(f"serve: {name} must be comma-separated numbers, not {raw!r}") from None
    if not bounds:
        raise SystemExit(f"serve: {name} names no bucket")
    return bounds


def main() -> int:
    """Listen, load the model, serve until SIGTERM or SIGINT; the exit code is 1 if loading failed."""
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)
    model_uri = os.environ.get("MODEL_URI", "").strip()
    if not model_uri:
        LOG.error("MODEL_URI is not set (e.g. models:/churn@champion)")
        return 2
    port = _env_int("PORT", DEFAULT_PORT)
    scorer, metrics = Scorer(), Metrics(model_uri=model_uri, task=os.environ.get("SPECOPS_MODEL_TASK", "").strip(),
                                        prediction_bounds=_env_buckets("SERVING_PREDICTION_BUCKETS"))
    handler = make_handler(scorer, metrics, _env_int("SERVING_MAX_BODY_BYTES", DEFAULT_MAX_BODY))
    server = ThreadingHTTPServer((os.environ.get("HOST", "0.0.0.0"), port), handler)
    server.daemon_threads = True
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    # listen first, so that liveness holds and readiness answers 503 while the model loads
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    thread.start()
    LOG.info("listening on port %d; loading %s", port, model_uri)
    started = time.perf_counter()
    try:
        scorer.load(model_uri)
    except Exception:
        LOG.exception("could not load %s", model_uri)
        server.shutdown()
        server.server_close()
        return 1
    with metrics.lock:
        metrics.loaded, metrics.load_seconds = True, time.perf_counter() - started
    LOG.info("model loaded in %.1f s; serving on port %d", metrics.load_seconds, port)
    stop.wait()
    LOG.info("stopping")
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
