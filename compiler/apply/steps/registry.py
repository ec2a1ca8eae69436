"""The MLflow registry of one model in one environment: versions by alias or tag, and run artifacts."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler.apply.context import RunContext, StepFailed
from compiler.apply.steps.data import quiet_mlflow
from compiler.spec.ir import Model

CANDIDATE_ALIAS = "challenger"
HOLDOUT_PATH = "specops/holdout.parquet"
# tags on runs and model versions
INPUTS_TAG = "specops.inputs_digest"  # everything that determines the fitted model: data, code, settings
TRAINING_TAG = "specops.training_digest"  # the same without the data: what the spec and code say
DEMOTED_TAG = "specops.demoted"  # why `specops promote` took the alias away from this version


@dataclass
class Registry:
    client: Any  # mlflow.MlflowClient
    uri: str
    name: str  # the registered model

    def version(self, number: int | str) -> Any | None:
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version(self.name, str(number))
        except MlflowException:
            return None

    def alias_version(self, alias: str) -> Any | None:
        """The version holding `alias`, or None (no such alias, or no such model yet)."""
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version_by_alias(self.name, alias)
        except MlflowException:
            return None

    def aliases(self) -> dict[str, int]:
        """alias -> the version holding it (empty: no such model yet)."""
        from mlflow.exceptions import MlflowException

        try:
            found = self.client.get_registered_model(self.name)
        except MlflowException:
            return {}
        return {alias: int(number) for alias, number in (found.aliases or {}).items()}

    def numbers(self) -> list[int]:
        """The model's version numbers, in order."""
        from mlflow.exceptions import MlflowException

        try:
            found = self.client.search_model_versions(f"name = '{_quote(self.name)}'")
        except MlflowException:
            return []
        return sorted(int(v.version) for v in found)

    def tagged(self, key: str, value: str) -> list[Any]:
        """Versions of the model carrying tag key=value, newest first."""
        from mlflow.exceptions import MlflowException

        query = f"name = '{_quote(self.name)}' and tags.`{key}` = '{_quote(value)}'"
        try:
            found = list(self.client.search_model_versions(query))
        except MlflowException:
            return []
        return sorted(found, key=lambda v: int(v.version), reverse=True)

    def download(self, run_id: str, artifact: str, dst: Path) -> Path:
        from mlflow.artifacts import download_artifacts
        from mlflow.exceptions import MlflowException

        try:
            # with this environment's tracking URI: "runs:/..." alone would use the process default
            return Path(download_artifacts(run_id=run_id, artifact_path=artifact, dst_path=str(dst),
                                           tracking_uri=self.uri))
        except (MlflowException, OSError) as exc:
            message = getattr(exc, "message", str(exc))
            raise StepFailed(f"cannot download {artifact} of run {run_id}: {message}") from None

    def read_holdout(self, run_id: str) -> Any:
        """The held-out rows a run was validated on (logged with it as Parquet)."""
        import pandas as pd

        with tempfile.TemporaryDirectory(prefix="specops-holdout-") as tmp:
            return pd.read_parquet(self.download(run_id, HOLDOUT_PATH, Path(tmp)))


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def open_registry(ctx: RunContext, model: Model) -> Registry:
    import mlflow
    from mlflow import MlflowClient

    quiet_mlflow()
    uri = ctx.tracking()  # the server's token set up, an embedded store's artifacts in this repository
    mlflow.set_tracking_uri(uri)  # models:/ URIs are read through the process' tracking URI
    return Registry(MlflowClient(uri), uri, model.registry_name)
