"""Stage 3: turn schema-valid Documents into the typed IR (compiler.spec.ir), applying defaults.

Files that specs point at (sql_file, training entrypoints, CSV sources) are checked here and their
contents captured in the IR, so that every later stage is a pure function of the IR.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler.front.documents import Document, YamlPath
from compiler.front.sources import Files, landed_source
from compiler.front.yamlparse import TEXT_START
from compiler.paths import normal_repo_path, repo_path_problem, repository_path_problem
from compiler.spec.csvfile import loadable_csv
from compiler.spec.diagnostics import Diagnostic
from compiler.spec.ir import (
    LANDED_SOURCES,
    Autoscaling,
    Check,
    Column,
    Dataset,
    Deployment,
    Drift,
    DriftWindow,
    Environment,
    Freshness,
    Incremental,
    LineageEndpoint,
    Loc,
    Meta,
    MetricGate,
    Model,
    Project,
    QualityRule,
    Resource,
    Source,
    SpecopsSource,
    Split,
    StateBackend,
    Threshold,
    Training,
    Transform,
    Warehouse,
)

# files read as text, as spec files are: the bytes the IR holds and its digests follow (compiler.front.parse)
TEXT_SUFFIXES = (".sql",)

_WAREHOUSE_DEFAULTS: dict[str, dict[str, Any]] = {
    "duckdb": {"path": None},
    "postgres": {"port": 5432},
}


@dataclass
class Builder:
    """Builds one resource per document; collects diagnostics about referenced files."""

    root: Path
    diagnostics: list[Diagnostic]
    _read: dict[tuple[str, tuple[str, ...]], tuple[str | None, bytes | None]] = field(default_factory=dict)
    # what the last `build` read besides its document: (file, what was found: sha256 of its bytes, or the problem)
    reads: list[tuple[str, str]] = field(default_factory=list)

    def build(self, doc: Document) -> Resource:
        """The document's resource: a function of the document and the files it names (`reads`), nothing else."""
        self.reads = []
        method = getattr(self, f"_{doc.kind.lower()}")
        return method(doc)

    # --- helpers -----------------------------------------------------------------------------

    def _loc(self, doc: Document, path: YamlPath = ()) -> Loc:
        line, col = doc.locate(path)
        return Loc(doc.file, line, col)

    def _common(self, doc: Document) -> dict[str, Any]:
        meta = doc.data.get("metadata", {})
        return {
            "meta": Meta(
                name=meta["name"],
                owner=meta.get("owner"),
                description=meta.get("description"),
                tags=tuple(meta.get("tags", ())),
                labels=tuple(sorted((meta.get("labels") or {}).items())),
            ),
            "loc": self._loc(doc),
        }

    def _file(self, doc: Document, path: YamlPath, written: str, what: str, suffixes: tuple[str, ...]) -> bytes | None:
        """The bytes of the repository file `written` names (read once, however it is spelled), or None and a diagnostic
        that quotes it as written."""
        rel = normal_repo_path(written)
        if (rel, suffixes) not in self._read:  # many specs may name one file (a shared training script)
            self._read[rel, suffixes] = self._read_repo_file(rel, suffixes)
        problem, content = self._read[rel, suffixes]
        self.reads.append((rel, problem if content is None else hashlib.sha256(content).hexdigest()))
        if problem is None:
            return content
        line, col = doc.locate(path)
        self.diagnostics.append(Diagnostic("bad-path", f"{what} '{written}': {problem}", doc.file, line, col,
                                           doc.address, "paths are relative to the repository root"))
        return None

    def _read_repo_file(self, rel: str, suffixes: tuple[str, ...]) -> tuple[str | None, bytes | None]:
        """(problem, None), or (None, the file's bytes)."""
        problem = repo_path_problem(self.root, rel, must_exist=True)
        if problem is None and suffixes and not rel.endswith(suffixes):
            problem = f"expected a {' or '.join(suffixes)} file"
        if problem is None and not (self.root / rel).is_file():
            problem = "not a file"
        if problem is None:
            try:
                content = (self.root / rel).read_bytes()
            except OSError as exc:
                problem = f"cannot read it: {exc.strerror}"
            else:
                if rel.endswith(TEXT_SUFFIXES):
                    return None, as_text_file(content)
                return None, loadable_csv(content) if rel.endswith(".csv") else content
        return problem, None

    # --- kinds -------------------------------------------------------------------------------

    def _project(self, doc: Document) -> Project:
        spec = doc.data.get("spec") or {}
        for key in ("output", "workflows_dir"):
            if key in spec:
                problem = repo_path_problem(self.root, spec[key], must_exist=False)
                if problem:
                    line, col = doc.locate(("spec", key))
                    self.diagnostics.append(Diagnostic("bad-path", f"{key} '{spec[key]}': {problem}",
                                                       doc.file, line, col, doc.address))
        wheel = (spec.get("specops") or {}).get("wheel")
        if wheel:
            problem = repo_path_problem(self.root, wheel, must_exist=True)
            if problem:
                line, col = doc.locate(("spec", "specops", "wheel"))
                self.diagnostics.append(Diagnostic("bad-path", f"specops wheel '{wheel}': {problem}", doc.file, line,
                                                   col, doc.address, "build it with `pip wheel --no-deps <specops "
                                                                     "source>` and commit it, or name a version"))
        repository = spec.get("repository") or {}
        if repository.get("path"):
            problem = repository_path_problem(self.root, repository["path"].strip("/"))
            if problem:
                line, col = doc.locate(("spec", "repository", "path"))
                self.diagnostics.append(Diagnostic(
                    "bad-path", f"repository.path '{repository['path']}': {problem}", doc.file, line, col,
                    doc.address, "write this repository's folder relative to its git repository's root"))
        return Project(
            **self._common(doc),
            specs=tuple(normal_repo_path(folder) for folder in spec.get("specs", ["specs"])),
            output=normal_repo_path(spec.get("output", "build")),
            workflows_dir=normal_repo_path(spec.get("workflows_dir", ".github/workflows")),
            default_environment=spec.get("default_environment"),
            image_registry=spec.get("image_registry"),
            python_version=spec.get("python_version", "3.11"),
            kubernetes_version=spec.get("kubernetes_version", "1.31"),
            specops=_specops_source(spec.get("specops")),
            repository_path=repository["path"].strip("/") if repository.get("path") else None,
            repository_url=repository.get("url"),
            repository_token_env=repository.get("token_env"),
            repository_submodules=repository.get("submodules") is True,
        )

    def _environment(self, doc: Document) -> Environment:
        spec = doc.data["spec"]
        wh = dict(spec.get("warehouse") or {"type": "duckdb"})
        wtype = wh.pop("type")
        settings = {**_WAREHOUSE_DEFAULTS.get(wtype, {}), **wh}
        if wtype == "duckdb" and not settings.get("path"):
            settings["path"] = f".specops/{doc.name}.duckdb"
        if wtype == "duckdb":
            problem = repo_path_problem(self.root, settings["path"], must_exist=False)
            if problem:
                line, col = doc.locate(("spec", "warehouse", "path"))
                self.diagnostics.append(Diagnostic("bad-path", f"warehouse path '{settings['path']}': {problem}",
                                                   doc.file, line, col, doc.address))
            settings["path"] = normal_repo_path(settings["path"])
        k8s = spec.get("kubernetes") or {}
        protection = spec.get("protection") or {}
        lineage = spec.get("lineage")
        return Environment(
            **self._common(doc),
            warehouse=Warehouse(wtype, tuple(sorted(settings.items()))),
            tracking_uri=(spec.get("mlflow") or {}).get("tracking_uri", "sqlite:///.specops/mlflow.db"),
            namespace=k8s.get("namespace"),
            context=k8s.get("context"),
            required_approval=bool(protection.get("required_approval", False)),
            allow_pii=bool(protection.get("allow_pii", False)),
            token_env=(spec.get("mlflow") or {}).get("token_env"),
            state=self._state_backend(doc, spec.get("state"), wtype, settings),
            kafka_brokers=tuple((spec.get("kafka") or {}).get("brokers", ())),
            lineage=LineageEndpoint(lineage["url"], lineage.get("endpoint", "api/v1/lineage").strip("/"),
                                    lineage.get("api_key_env")) if lineage else None,
            pushgateway=(spec.get("monitoring") or {}).get("pushgateway"),
        )

    def _state_backend(self, doc: Document, raw: dict[str, Any] | None, wtype: str,
                       warehouse: dict[str, Any]) -> StateBackend | None:
        """None for local state; postgres settings completed from a postgres warehouse's connection."""
        if not raw or raw.get("type", "local") == "local":
            return None
        settings = {k: v for k, v in raw.items() if k != "type"}
        if wtype == "postgres":
            for key in ("host", "port", "database", "user", "password_env"):
                if key not in settings and warehouse.get(key) is not None:
                    settings[key] = warehouse[key]
        settings.setdefault("port", 5432)
        settings.setdefault("schema", "specops_state")
        missing = [k for k in ("host", "database", "user") if k not in settings]
        if missing:
            line, col = doc.locate(("spec", "state"))
            self.diagnostics.append(Diagnostic(
                "missing-state-setting", f"the postgres state backend needs {', '.join(missing)}", doc.file, line, col,
                doc.address, "set them under state:, or use a postgres warehouse, whose connection the state "
                             "backend then shares"))
        return StateBackend("postgres", tuple(sorted(settings.items())))

    def _dataset(self, doc: Document) -> Dataset:
        spec = doc.data["spec"]
        source = None
        if "source" in spec:
            raw = spec["source"]
            content = None
            if raw["type"] == "file":
                content = self._file(doc, ("spec", "source", "path"), raw["path"], "source file", (".csv",))
            if isinstance(raw.get("path"), str):  # a file or dvc source's file (or a path in a dvc source's repo)
                raw = {**raw, "path": normal_repo_path(raw["path"])}
            if raw["type"] in LANDED_SOURCES:  # dvc, kafka (compiler.front.sources)
                source = landed_source(Files(self._read_repo_file, self.reads, self.diagnostics), doc, raw)
            else:
                source = Source(type=raw["type"], schema=raw.get("schema"), table=raw.get("table"),
                                database=raw.get("database"), path=raw.get("path"), delimiter=raw.get("delimiter"),
                                uri=raw.get("uri"), format=raw.get("format"), content=content)
        file, locate = doc.file, doc.locate  # the hottest loop of the IR build: positional arguments, no helper
        columns = tuple(
            Column(c["name"], _norm_type(c["type"]), Loc(file, *locate(("spec", "columns", i))), c.get("description"),
                   c.get("required", False), c.get("unique", False),
                   tuple(c["accepted_values"]) if "accepted_values" in c else None, c.get("pii", False),
                   c.get("masked", False))
            for i, c in enumerate(spec["columns"])
        )
        fresh = spec.get("freshness")
        return Dataset(
            **self._common(doc),
            source=source,
            columns=columns,
            primary_key=tuple(spec.get("primary_key", ())),
            freshness=Freshness(fresh["column"], fresh.get("warn_after"), fresh.get("error_after"),
                                Loc(file, *locate(("spec", "freshness")))) if fresh else None,
            classification=spec.get("classification", "internal"),
            retention=spec.get("retention"),
            primary_key_loc=Loc(file, *locate(("spec", "primary_key"))) if "primary_key" in spec else None,
        )

    def _qualityrule(self, doc: Document) -> QualityRule:
        spec = doc.data["spec"]
        severity = spec.get("severity", "error")
        checks = []
        used: set[str] = {c["name"] for c in spec["checks"] if "name" in c}
        for i, c in enumerate(spec["checks"]):
            thr = c.get("threshold")
            to_ds, to_col = ([*c["to"].split(".", 1), None])[:2] if "to" in c else (None, None)
            name = c.get("name")
            if name is None:  # the same check twice (e.g. a warn tier and an error tier): number the later ones
                base = name = default_check_name(doc.name, spec["dataset"], c)
                n = 1
                while name in used:
                    n += 1
                    name = f"{base}_{n}"
                used.add(name)
            checks.append(Check(
                type=c["type"],
                name=name,
                severity=c.get("severity", severity),
                loc=self._loc(doc, ("spec", "checks", i)),
                threshold=Threshold(thr.get("max_failures"), thr.get("max_failure_percent")) if thr else None,
                description=c.get("description"),
                column=c.get("column"),
                columns=tuple(c.get("columns", ())),
                values=tuple(c.get("values", ())),
                min=c.get("min"),
                max=c.get("max"),
                to_dataset=to_ds,
                to_column=to_col,
                max_age=c.get("max_age"),
                pattern=c.get("pattern"),
                expression=c.get("expression"),
                sql=c.get("sql"),
            ))
        return QualityRule(**self._common(doc), dataset=spec["dataset"], severity=severity, checks=tuple(checks))

    def _transform(self, doc: Document) -> Transform:
        spec = doc.data["spec"]
        sql_file = spec.get("sql_file")
        if sql_file is not None:
            content = self._file(doc, ("spec", "sql_file"), sql_file, "sql_file", (".sql",))
            sql_file = normal_repo_path(sql_file)
            sql = ""
            if content is not None:
                try:
                    sql = content.decode("utf-8")
                except UnicodeDecodeError:
                    line, col = doc.locate(("spec", "sql_file"))
                    self.diagnostics.append(Diagnostic("not-utf8", f"sql_file '{sql_file}' is not UTF-8",
                                                       doc.file, line, col, doc.address))
                else:
                    if not sql.strip():
                        line, col = doc.locate(("spec", "sql_file"))
                        self.diagnostics.append(Diagnostic("empty-sql", f"sql_file '{sql_file}' is empty",
                                                           doc.file, line, col, doc.address,
                                                           "write the SELECT statement that produces the output"))
            sql_loc = Loc(sql_file, 1, 1)
        else:
            sql = spec["sql"]
            line, col = doc.locate(("spec", "sql"))
            # a multi-line text (a block scalar) starts on the next line, indented
            sql_loc = Loc(doc.file, *(doc.parsed.position(("spec", "sql", TEXT_START)) or (line, col)))
            if not sql.strip():
                self.diagnostics.append(Diagnostic("empty-sql", "spec.sql is blank", doc.file, line, col,
                                                   doc.address, "write the SELECT statement that produces the output"))
        inc = spec.get("incremental")
        unique_key = inc.get("unique_key") if inc else None
        return Transform(
            **self._common(doc),
            inputs=tuple(spec["inputs"]),
            output=spec["output"],
            sql=sql,
            sql_file=sql_file,
            sql_loc=sql_loc,
            materialization=spec.get("materialization", "table"),
            incremental=Incremental(
                tuple([unique_key] if isinstance(unique_key, str) else unique_key), inc["updated_at"]
            ) if inc else None,
            schedule=spec.get("schedule"),
            runner=spec.get("runner"),
        )

    def _model(self, doc: Document) -> Model:
        spec = doc.data["spec"]
        tr = spec["training"]
        source = self._file(doc, ("spec", "training", "entrypoint"), tr["entrypoint"], "entrypoint", (".py",))
        entrypoint = normal_repo_path(tr["entrypoint"])
        res = tr.get("resources") or {}
        registry = spec.get("registry") or {}
        validation = spec.get("validation") or {}
        drift = (spec.get("monitoring") or {}).get("drift")
        return Model(
            **self._common(doc),
            task=spec["task"],
            framework=spec["framework"],
            training=Training(
                dataset=tr["dataset"], features=tuple(tr["features"]), target=tr["target"],
                entrypoint=entrypoint, entrypoint_source=source or b"",
                params=tuple(sorted((tr.get("params") or {}).items())),
                test_size=float(tr.get("test_size", 0.2)), random_seed=int(tr.get("random_seed", 42)),
                cpu=_qty(res.get("cpu")), memory=_qty(res.get("memory")), gpu=int(res.get("gpu", 0) or 0),
                schedule=tr.get("schedule"), runner=tr.get("runner"),
                split=Split(tr["split"]["strategy"], tr["split"].get("column")) if tr.get("split") else None,
            ),
            registry_name=registry.get("name", doc.name),
            alias=registry.get("alias", "champion"),
            metrics=tuple(MetricGate(m["name"], m.get("min"), m.get("max")) for m in validation.get("metrics", ())),
            max_regression=_max_regression(validation.get("max_regression")),
            drift=Drift(drift.get("method", "psi"), drift["threshold"], drift.get("schedule"),
                        DriftWindow(drift["window"]["column"], drift["window"]["period"]) if drift.get("window")
                        else None, bool(drift.get("retrain", False))) if drift else None,
            allow_pii_features=bool((spec.get("governance") or {}).get("allow_pii_features", False)),
            decision_threshold=spec.get("decision_threshold"),
        )

    def _deployment(self, doc: Document) -> Deployment:
        spec = doc.data["spec"]
        auto = spec.get("autoscaling")
        res = spec.get("resources") or {}
        net = spec.get("network") or {}
        mon = spec.get("monitoring") or {}
        alerts = mon.get("alerts") or {}
        return Deployment(
            **self._common(doc),
            model=spec["model"],
            environment=spec["environment"],
            alias=spec.get("alias"),
            version=spec.get("version"),
            runtime=spec.get("runtime", "mlflow"),
            replicas=spec.get("replicas", 2),
            autoscaling=Autoscaling(auto.get("min_replicas", 2), auto["max_replicas"],
                                    auto.get("target_cpu_percent", 80)) if auto else None,
            requests=tuple(sorted((k, _qty(v)) for k, v in (res.get("requests") or {}).items())),
            limits=tuple(sorted((k, _qty(v)) for k, v in (res.get("limits") or {}).items())),
            port=spec.get("port", 8000),
            canary_percent=(spec.get("rollout") or {}).get("canary_percent"),
            allow_from_namespaces=tuple(net.get("allow_from_namespaces", ())),
            p95_latency_ms=alerts.get("p95_latency_ms"),
            error_rate=alerts.get("error_rate"),
            monitoring_labels=tuple(sorted((mon.get("labels") or {}).items())),
        )


def as_text_file(content: bytes) -> bytes:
    """A text file's bytes as a spec file is read: without a UTF-8 byte order mark, every line ending LF (CRLF
    and CR converted), so that a Windows checkout (or an editor's BOM) reads the same text as a Linux one."""
    if content.startswith(codecs.BOM_UTF8):
        content = content[len(codecs.BOM_UTF8):]
    if b"\r" in content:
        content = content.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return content


def digest_of(data: Any) -> str:
    """sha256 of a canonical JSON rendering: key order and YAML formatting do not matter."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def default_check_name(rule: str, dataset: str, check: dict[str, Any]) -> str:
    """A stable, readable check name: type, dataset, the columns it looks at, and a short hash.

    The hash covers the rule's name and the check's content (not severity, threshold or
    description, so tuning those keeps the name): the same check in two rules gets two names.
    """
    parts = [check["type"], dataset]
    if "column" in check:
        parts.append(check["column"])
    parts.extend(check.get("columns", ()))
    body = {k: v for k, v in check.items() if k not in ("severity", "threshold", "description", "name")}
    parts.append(digest_of({"rule": rule, **body})[:6])
    name = "_".join(parts)
    return re.sub(r"[^a-z0-9_]", "_", name.lower())[:120]


_SPACES = re.compile(r"\s+")


def _norm_type(text: str) -> str:
    """A column type in its one spelling: lower case, no whitespace (`decimal( 10 , 2 )` is `decimal(10,2)`)."""
    if text.isalpha() and text.islower():  # string, integer, ...: the common case, kept as written
        return text
    return _SPACES.sub("", text.lower())


def _qty(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _specops_source(raw: dict[str, Any] | None) -> SpecopsSource | None:
    """Project.spec.specops as the IR's source (the schema allows exactly one form)."""
    if not raw:
        return None
    if "version" in raw:
        return SpecopsSource("version", str(raw["version"]))
    if "git" in raw:
        return SpecopsSource("git", raw["git"], raw["commit"])
    return SpecopsSource("wheel", normal_repo_path(raw["wheel"]))


def _max_regression(value: Any) -> float | tuple[tuple[str, float], ...] | None:
    """A number stays a number (as older snapshots have it); a per-metric mapping becomes sorted pairs."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), float(v)) for k, v in value.items()))
    return value
