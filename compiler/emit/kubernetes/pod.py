"""The hardened pod template every generated workload uses (research/ml-deploy.md, pod checklist).

Pod: a dedicated ServiceAccount without a mounted token (CKV_K8S_38/41/42), runAsNonRoot with
uid/gid 10001 and fsGroup 10001 (CKV_K8S_23/40), seccomp RuntimeDefault (CKV_K8S_31), no host
namespaces. Container: no privilege escalation, not privileged, read-only root filesystem with an
emptyDir on /tmp, every capability dropped (CKV_K8S_16/20/22/25/28/37/39), HOME=/tmp so libraries
that cache in $HOME keep working, and resources from `resources.requirements`.
"""

from __future__ import annotations

from typing import Any

UID = 10001
TMP = "tmp"


def pod_security_context() -> dict[str, Any]:
    return {"runAsNonRoot": True, "runAsUser": UID, "runAsGroup": UID, "fsGroup": UID,
            "seccompProfile": {"type": "RuntimeDefault"}}


def container_security_context() -> dict[str, Any]:
    return {"allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True,
            "runAsNonRoot": True, "runAsUser": UID, "runAsGroup": UID,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def tmp_volume() -> dict[str, Any]:
    return {"name": TMP, "emptyDir": {}}


def tmp_mount() -> dict[str, Any]:
    return {"name": TMP, "mountPath": "/tmp"}


def env_list(env: dict[str, str]) -> list[dict[str, str]]:
    """`env` entries in the given order (callers build it in a fixed order)."""
    return [{"name": k, "value": v} for k, v in env.items()]


def container(name: str, image: str, resources: dict[str, Any], *, args: list[str] | None = None,
              env: dict[str, str] | None = None, mounts: list[dict[str, Any]] | None = None,
              **extra: Any) -> dict[str, Any]:
    """A hardened container: image always pulled, read-only root with /tmp writable."""
    out: dict[str, Any] = {"name": name, "image": image, "imagePullPolicy": "Always"}
    if args:
        out["args"] = list(args)
    out["env"] = env_list({"HOME": "/tmp", **(env or {})})
    out.update(extra)
    out["resources"] = resources
    out["securityContext"] = container_security_context()
    out["volumeMounts"] = [tmp_mount(), *(mounts or [])]
    return out


def pod_spec(service_account: str, containers: list[dict[str, Any]], *,
             volumes: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    """A hardened pod spec running as `service_account` (whose token is not mounted)."""
    out: dict[str, Any] = {"serviceAccountName": service_account, "automountServiceAccountToken": False}
    out.update(extra)
    out["securityContext"] = pod_security_context()
    out["containers"] = containers
    out["volumes"] = [tmp_volume(), *(volumes or [])]
    return out


def service_account(metadata: dict[str, Any]) -> dict[str, Any]:
    """A dedicated ServiceAccount that never mounts its token automatically."""
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata,
            "automountServiceAccountToken": False}
