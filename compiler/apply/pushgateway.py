"""Drift scores to a Prometheus Pushgateway: the series the PrometheusRule alert SpecopsModelDrift and the Grafana
drift panel read (their metric name and labels come from compiler.emit.serving_metrics, as these do).

`specops drift` PUTs one gauge, specops_drift_score (the worst feature's score: the number compared with
monitoring.drift.threshold), in the text exposition format, to

    <url>/metrics/job/specops_drift/model/<model>/environment/<environment>

The labels are the grouping key's: the Pushgateway adds them to the pushed series (and rejects a body that
carries them itself). PUT replaces the group, so each check overwrites the previous score of its model in its
environment. A label value other than letters, digits and `_.~-` is sent base64url-encoded (`<label>@base64`).
"""

from __future__ import annotations

import base64
import math
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from compiler.emit.serving_metrics import DRIFT_METRIC, drift_series

JOB = "specops_drift"
HTTP_TIMEOUT = 10
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_PLAIN = re.compile(r"[A-Za-z0-9_.~-]+")
HELP = "The worst feature's drift score of the last `specops drift` of the model (psi or ks)."


@dataclass(frozen=True, slots=True)
class Push:
    """One PUT to a Pushgateway: the grouping path under the base URL, and the exposition text."""

    path: str
    body: str

    def url(self, base: str) -> str:
        return base.rstrip("/") + self.path


def problem(url: str) -> str | None:
    """Why `url` cannot be a Pushgateway's base URL (only http and https are), or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError as exc:
        return str(exc)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an http(s) URL (e.g. http://prometheus-pushgateway.monitoring.svc:9091)"
    if parts.username is not None or parts.password is not None:
        return "credentials do not belong in the URL (it is printed and kept in manifests)"
    if parts.query or parts.fragment:
        return "a base URL has no query or fragment (the grouping path is put after it)"
    return None


def _segment(label: str, value: str) -> str:
    if _PLAIN.fullmatch(value):
        return f"/{label}/{value}"
    encoded = base64.urlsafe_b64encode(value.encode("utf-8")).decode("ascii")
    return f"/{label}@base64/{encoded or '='}"


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def drift_push(model: str, environment: str, score: float) -> Push:
    """The PUT of a model's drift score in an environment."""
    path = f"/metrics/job/{JOB}" + "".join(_segment(label, value) for label, _, value in
                                           drift_series(model, environment))
    body = f"# HELP {DRIFT_METRIC} {HELP}\n# TYPE {DRIFT_METRIC} gauge\n{DRIFT_METRIC} {_number(score)}\n"
    return Push(path, body)


def send(base: str, push: Push) -> str | None:
    """PUT `push` to the Pushgateway at `base`; None when it was accepted, else what went wrong (never raises)."""
    request = urllib.request.Request(push.url(base), push.body.encode("utf-8"), {"Content-Type": CONTENT_TYPE},
                                     method="PUT")
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:  # problem() allows http(s) only
            response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace").strip()
        return f"HTTP {exc.code} {exc.reason}" + (f": {detail}" if detail else "")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return str(getattr(exc, "reason", None) or exc)
    return None
