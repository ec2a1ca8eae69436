"""Container resource requests and limits, with defaults for what the spec leaves out.

Every container gets cpu, memory and ephemeral-storage requests and limits (checkov CKV_K8S_10-13,
kube-score container-resources and container-ephemeral-storage-request-and-limit). When the spec
sets only one side of a pair and the default of the other side would contradict it (a request above
the limit), the other side follows the spec's value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

DEFAULT_REQUESTS = {"cpu": "100m", "memory": "256Mi", "ephemeral-storage": "256Mi"}
DEFAULT_LIMITS = {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "1Gi"}
GPU = "nvidia.com/gpu"

_SUFFIX = {
    "": 1, "m": Decimal("0.001"), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}
_QUANTITY = re.compile(r"^([0-9.]+(?:[eE][-+]?[0-9]+)?)([a-zA-Z]*)$")


def quantity(text: str) -> Decimal | None:
    """The value of a Kubernetes quantity ("250m", "1Gi", "2"), or None when it does not parse."""
    m = _QUANTITY.match(str(text).strip())
    if not m or m.group(2) not in _SUFFIX:
        return None
    try:
        return Decimal(m.group(1)) * Decimal(_SUFFIX[m.group(2)])
    except InvalidOperation:
        return None


def _k8s_key(key: str) -> str:
    return key.replace("_", "-")


def requirements(requests: Mapping[str, str | None], limits: Mapping[str, str | None],
                 gpu: int = 0) -> dict[str, dict[str, str]]:
    """`resources` of a container: the spec's values over the defaults, kept consistent."""
    req_spec = {_k8s_key(k): str(v) for k, v in requests.items() if v is not None}
    lim_spec = {_k8s_key(k): str(v) for k, v in limits.items() if v is not None}
    req = {**DEFAULT_REQUESTS, **req_spec}
    lim = {**DEFAULT_LIMITS, **lim_spec}
    for key in DEFAULT_REQUESTS:
        low, high = quantity(req[key]), quantity(lim[key])
        if low is None or high is None or low <= high:
            continue
        if key in req_spec and key not in lim_spec:
            lim[key] = req[key]
        elif key in lim_spec and key not in req_spec:
            req[key] = lim[key]
    if gpu > 0:
        req[GPU] = lim[GPU] = str(gpu)
    return {"requests": req, "limits": lim}
