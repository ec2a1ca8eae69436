"""The github backend: GitHub Actions workflows that check, plan, apply and retrain from the specs.

    specops-pr.yml               on pull_request: validate + drift check, then `specops plan` posted
                                 as one sticky PR comment (and uploaded as an artifact, with the
                                 `specops docs` lineage site that draws it)
    specops-apply.yml            on push to main (and by hand): the images the manifests name, built
                                 and pushed (compiler.emit.github.images), then `specops apply` per
                                 Environment, dev first, each environment after the previous one
    specops-retrain-<model>.yml  per Model with training.schedule whose runner is github
                                 (compiler.spec.runners): `specops train` on that cron

specops is installed from the Project's `specops` source (a version, a git commit, a wheel in the
repository; default the version that compiled the specs). A spec repository in a folder of a larger git
repository (Project repository.path) gets its workflows in the git root's workflows_dir, named
`specops-<project>-*.yml`, running in that folder (defaults.run.working-directory) and triggered by
changes under it. Secrets come from compiler.spec.secrets; a BigQuery key is written to a file at run
time (dbt reads a path). An environment whose state lives in a remote backend (state.type: postgres)
reads and writes it there; only environments with local state carry it in the Actions cache.

Hardening (checkov CKV_GHA/CKV2_GHA, zizmor, actionlint; research/ml-deploy.md): top-level
`permissions: {}` and a minimal grant per job, every action pinned to a commit
(compiler.emit.github.pins), `persist-credentials: false` on checkout, a concurrency group and a
timeout everywhere, no `workflow_dispatch` inputs, and no `${{ }}` inside a `run:` script: values
reach scripts only through `env:`. Spec values are re-checked here before they are used (names,
environment-variable names, cron fields) and trigger paths are reduced to a safe alphabet, so a
spec can never add an expression, a glob negation or a line to a workflow.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from pathlib import PurePosixPath
from typing import Any

from compiler.emit.base import Artifact, Unit, run_units
from compiler.emit.github import images as image_job
from compiler.emit.github.pins import annotate, uses
from compiler.emit.render import GENERATED, dump_yaml
from compiler.paths import workflow_prefix
from compiler.spec.images import specops_requirement
from compiler.spec.ir import Environment, Model
from compiler.spec.project import SpecProject
from compiler.spec.runners import retrain_runner
from compiler.spec.secrets import KUBE_CONFIG

PR_FILE = "pr.yml"  # after the workflow prefix: specops-pr.yml, or specops-<project>-pr.yml in a monorepo
APPLY_FILE = "apply.yml"
DEFAULT_BRANCH = "main"
RUNNER = "ubuntu-latest"
PLAN_MARKER = "<!-- specops-plan -->"
SITE_DIR, SITE_ARTIFACT = "specops-site", "specops-site"  # `specops docs` output, uploaded beside the plan
TIMEOUTS = {"validate": 15, "plan": 20, "images": 60, "apply": 60, "train": 120}

# comments a workflow reviewer (and zizmor's undocumented-permissions) wants beside a grant
_LINE_COMMENTS = {"pull-requests: write": "post the plan as a sticky PR comment",
                  "packages: write": "push the images the manifests name to ghcr.io"}

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_ENV_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*,/-]+$")
_PYTHON = re.compile(r"^3\.[0-9]+$")
_PATH_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


COST = 0.23  # relative cost at 10,000 specs (compiler.emit.registry)


def emit(project: SpecProject) -> list[Artifact]:
    """The PR, apply and retrain workflows (paths relative to the Project's workflows_dir)."""
    return run_units(project, units(project))


def units(project: SpecProject) -> list[Unit]:
    """The PR and apply workflows, and one per scheduled model."""
    scheduled = sorted(m.name for m in project.models.values()
                       if retrain_runner(m, project.deployments_of(m.name), project.environments) == "github")
    return [Unit(("github", "pr"), _pr_file), Unit(("github", "apply"), _apply_file),
            *(Unit(("github", "retrain", name), partial(_retrain_file, name=name)) for name in scheduled)]


def _prefix(project: SpecProject) -> str:
    return workflow_prefix(project.project.k8s_name, project.project.repository_path)


def _pr_file(project: SpecProject) -> list[Artifact]:
    return [Artifact(_prefix(project) + PR_FILE, _render(pr_workflow(project), "specops.yaml"),
                     (project.project.address,), base="workflows")]


def _apply_file(project: SpecProject) -> list[Artifact]:
    owners = {project.project.address, *(e.address for e in project.environments.values()),
              *image_job.owners(project)}
    return [Artifact(_prefix(project) + APPLY_FILE,
                     _render(apply_workflow(project), "specops.yaml and the Environment specs"),
                     tuple(sorted(owners)), base="workflows")]


def _retrain_file(project: SpecProject, name: str) -> list[Artifact]:
    model = project.models[name]
    targets = train_environments(project, model)
    owners = sorted({project.project.address, model.address,
                     *(e.address for e in targets),
                     *(d.address for d in project.deployments_of(model.name))})
    return [Artifact(retrain_file(project, model), _render(retrain_workflow(project, model), model.loc.file),
                     tuple(owners), base="workflows")]


def retrain_file(project: SpecProject, model: Model) -> str:
    return f"{_prefix(project)}retrain-{_safe_name(model.name).replace('_', '-')}.yml"


# --- the three workflows ------------------------------------------------------------------------


def pr_workflow(project: SpecProject) -> dict[str, Any]:
    """Validate and drift-check every pull request, then post its plan as one sticky comment."""
    validate = _job("validate", {"contents": "read"}, TIMEOUTS["validate"], [
        _checkout(project),
        _setup_python(project),
        _install(),
        _run("Validate the specs", "specops validate --format github"),
        _run("Check the generated files are up to date", "specops compile --check"),
    ])
    # a head that does not validate has no plan: the comment then says so (the previous push's plan must not stand
    # on the pull request), and the job fails after posting it; the plan job runs beside validate, not after it
    plan_script = (
        "set +e\n"
        'specops plan --against HEAD^1 --format markdown --out plan.json > plan.md\n'
        "code=$?\n"
        "set -e\n"
        'if [ "${code}" -ne 0 ]; then\n'
        f"  {{ printf '%s\\n\\n' '{PLAN_MARKER}'; printf '**No plan for %s**: \x60specops plan\x60 failed "
        "(exit %s): the specs at the head of this pull request do not validate, or the base branch cannot be read. "
        "See the annotations of the \x60validate\x60 job and the log of this run.\\n' \"${HEAD_SHA}\" \"${code}\"; }"
        " > plan.md\n"
        '  echo "failed=true" >> "${GITHUB_OUTPUT}"\n'
        "fi\n"
        'cat plan.md >> "${GITHUB_STEP_SUMMARY}"\n'
    )
    made = "steps.plan.outputs.failed != 'true'"
    here = _workspace_path(project)
    plan = _job("plan", {"contents": "read", "pull-requests": "write"}, TIMEOUTS["plan"], [
        # the pull request's merge commit (what checkout gives) and its parents: the first is the base branch as
        # the merge was made, so the plan shows this pull request's changes only, even once the base has moved on;
        # whole histories where specs are in submodules (a shallow submodule lacks the commit the base records)
        _checkout(project, fetch_depth=0 if project.project.repository_submodules else 2),
        _setup_python(project),
        _install(),
        {**_run("Plan against the base branch", plan_script, {"HEAD_SHA": "${{ github.event.pull_request.head.sha }}"}),
         "id": "plan"},
        {"name": "Upload the plan", "if": made, "uses": uses("actions/upload-artifact"), "with": {
            "name": "specops-plan", "path": f"{here('plan.json')}\n{here('plan.md')}\n", "if-no-files-found": "error",
            "retention-days": 14,
        }},
        # the lineage site with the plan drawn on it; a failure here must not hold back the plan's comment
        {"name": "Build the lineage site with the plan", "id": "site", "if": made, "continue-on-error": True,
         "run": f"specops docs --plan plan.json --out {SITE_DIR}\n"},
        {"name": "Upload the lineage site", "if": "steps.site.outcome == 'success'",
         "uses": uses("actions/upload-artifact"), "with": {
             "name": SITE_ARTIFACT, "path": f"{here(SITE_DIR)}/\n", "if-no-files-found": "error",
             "retention-days": 14,
         }},
        {
            "name": "Post the plan as a sticky PR comment",
            # the token of a pull request from a fork cannot comment: the artifact still has the plan
            "if": "github.event.pull_request.head.repo.full_name == github.repository",
            "env": {
                "GH_TOKEN": "${{ github.token }}",
                "PR_NUMBER": "${{ github.event.pull_request.number }}",
                "REPO": "${{ github.repository }}",
            },
            "run": _sticky_comment_script(plan_marker(project)),
        },
        _run("Fail when there is no plan", "exit 1\n") | {"if": "steps.plan.outputs.failed == 'true'"},
    ])
    return _workflow(
        project, "specops PR",
        {"pull_request": {"paths": trigger_paths(project, include_workflows=True)}},
        {"group": f"{_prefix(project)}pr-${{{{ github.event.pull_request.number }}}}", "cancel-in-progress": True},
        specops_requirement(project.project.specops),
        {"validate": validate, "plan": plan},
    )


def apply_workflow(project: SpecProject) -> dict[str, Any]:
    """Build the images the manifests name, then apply merged specs, one job per Environment, each after the
    previous one."""
    jobs: dict[str, Any] = {}
    built = image_job.job(project, _checkout(project), _setup_python(project), _install(), _workspace_path(project),
                          TIMEOUTS["images"])
    if built is not None:
        jobs[image_job.JOB_ID] = built
    needing = image_job.environments_needing_images(project) if built is not None else set()
    previous: str | None = None
    for env in ordered_environments(project):
        job_id = f"apply-{_safe_name(env.name).replace('_', '-')}"
        steps = [
            _checkout(project),
            _setup_python(project),
            _install(),
            *_restore_state(project, env),
            *_kubeconfig(env),
            _run("Compile", "specops compile"),
            _run(f"Apply to {env.name}", _with_key_files(env, f"specops apply --env {env.name} --yes"),
                 secret_env(project, env, "apply")),
            *_save_state(project, env),
        ]
        needs = [n for n in (previous, image_job.JOB_ID if env.name in needing else None) if n]
        jobs[job_id] = _job(f"apply ({env.name})", {"contents": "read"}, TIMEOUTS["apply"], steps,
                            needs=needs, env=env)
        previous = job_id
    return _workflow(
        project, "specops apply",
        {"push": {"branches": [DEFAULT_BRANCH], "paths": trigger_paths(project, include_workflows=True)},
         "workflow_dispatch": {}},
        {"group": f"{_prefix(project)}apply-${{{{ github.ref }}}}", "cancel-in-progress": False},
        specops_requirement(project.project.specops, _extras(project)),
        jobs,
    )


def retrain_workflow(project: SpecProject, model: Model) -> dict[str, Any]:
    """Retrain one model on its schedule, in each environment it is deployed to."""
    assert model.training is not None and model.training.schedule
    name = _safe_name(model.name)
    jobs: dict[str, Any] = {}
    previous: str | None = None
    for env in train_environments(project, model):
        job_id = f"train-{_safe_name(env.name).replace('_', '-')}"
        steps = [
            _checkout(project),
            _setup_python(project),
            _install(),
            # the warehouse, registry and state that apply left: a fresh runner has none of them
            *_restore_state(project, env),
            _run(f"Train {name} in {env.name}", _with_key_files(env, f"specops train {name} --env {env.name}"),
                 secret_env(project, env, "train")),
            *_save_state(project, env),
        ]
        jobs[job_id] = _job(f"train {name} ({env.name})", {"contents": "read"}, TIMEOUTS["train"], steps,
                            needs=[previous] if previous else [], env=env)
        previous = job_id
    return _workflow(
        project, f"specops retrain {name}",
        {"schedule": [{"cron": cron(model.training.schedule)}], "workflow_dispatch": {}},
        {"group": f"{_prefix(project)}retrain-{name.replace('_', '-')}", "cancel-in-progress": False},
        specops_requirement(project.project.specops, _extras(project)),
        jobs,
    )


# --- what the workflows are made of -------------------------------------------------------------


def promotion_rank(env: Environment) -> int:
    """Where an environment sits in the usual promotion order: dev, test, staging, production.

    Names are matched loosely (eu_prod is production, preprod is staging); unknown names sit between
    test and staging. Within a stage, environments that require an approval come last.
    """
    name = env.name.lower()
    if "preprod" in name or "pre_prod" in name or name.startswith(("stag", "uat")):
        stage = 3
    elif "prod" in name or "live" in name:
        stage = 4
    elif name.startswith(("dev", "sandbox", "local")):
        stage = 0
    elif name.startswith(("test", "qa", "ci", "int")):
        stage = 1
    else:
        stage = 2
    return stage * 2 + (1 if env.required_approval else 0)


def ordered_environments(project: SpecProject) -> list[Environment]:
    """dev first, production last: the order changes are promoted in (ties by name)."""
    envs = sorted(project.environments.values(), key=lambda e: (promotion_rank(e), e.name))
    for env in envs:
        _safe_name(env.name)
    return envs


def train_environments(project: SpecProject, model: Model) -> list[Environment]:
    """Where a model is deployed (promotion order), else the project's default environment."""
    deployed = {d.environment for d in project.deployments_of(model.name)}
    if not deployed and project.default_environment:
        deployed = {project.default_environment}
    return [e for e in ordered_environments(project) if e.name in deployed]


CONVENTIONAL_FOLDERS = ("sql", "training", "data")  # watched even before a spec names a file there


def trigger_paths(project: SpecProject, include_workflows: bool) -> list[str]:
    """The files whose change should run the workflow: specs, SQL, training code and data, wherever the specs
    keep them (under the spec repository's folder in a monorepo), and the generated workflows themselves."""
    base = _path_glob(project.project.repository_path or "")
    folders = [*project.project.specs, *CONVENTIONAL_FOLDERS]
    inside = ["specops.yaml", *(f"{_path_glob(f)}/**" if _path_glob(f) else "**" for f in folders),
              *_named_file_patterns(project, folders)]
    paths = [f"{base}/{p}" if base else p for p in inside]
    if include_workflows:
        wf = _path_glob(project.project.workflows_dir)
        paths.append(f"{wf}/{_prefix(project)}*.yml" if wf else f"{_prefix(project)}*.yml")
    return list(dict.fromkeys(paths))


def named_files(project: SpecProject) -> list[str]:
    """The repository files the specs name: SQL files, file sources (a dvc source's .dvc file), training
    entrypoints (SpecProject.input_files, one value for incremental compiles to track), the specops wheel."""
    files = list(project.input_files)
    source = project.project.specops
    if source is not None and source.kind == "wheel":
        files.append(source.value)
    return files


def _named_file_patterns(project: SpecProject, watched: list[str]) -> list[str]:
    """Filters for the files the specs name outside the `watched` folders, sorted: each one's top-level folder
    (`queries/**`), or the file itself when it is at the root."""
    covering = [_parts(folder) for folder in watched]
    patterns = set()
    for rel in named_files(project):
        parts = _parts(rel)
        if not parts or any(parts[:len(c)] == c and len(parts) > len(c) for c in covering):
            continue
        patterns.add(f"{_path_glob(parts[0])}/**" if len(parts) > 1 else _path_glob(parts[0]))
    return sorted(patterns)


def _parts(path: str) -> tuple[str, ...]:
    return tuple(p for p in PurePosixPath(path).parts if p != ".")


def _workspace_path(project: SpecProject) -> Callable[[str], str]:
    """A path of the spec repository as the workspace sees it (actions' `path:` inputs ignore working-directory)."""
    base = _path_glob(project.project.repository_path or "")
    return lambda rel: f"{base}/{rel}" if base else rel


def _extras(project: SpecProject) -> str:
    """specops' extras that apply and train need: `run`, and the connectors of the project's warehouses."""
    return ",".join(["run", *(t for t in project.warehouse_types if t in ("snowflake", "bigquery"))])


def cron(text: str) -> str:
    """The five fields of a cron schedule, re-checked, separated by single spaces."""
    fields = text.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        raise ValueError(f"'{text}' is not a 5-field cron expression")
    return " ".join(fields)


def _path_glob(path: str) -> str:
    """A repository folder as a filter pattern: each run of characters outside a safe set becomes `*`.

    `*` matches any characters but `/`, so the pattern still matches the folder (and perhaps a few
    more, which only costs a workflow run); but no glob operator (`?` and `+` act on the previous
    character there), negation, expression or line break from the spec reaches the workflow.
    """
    parts = [p for p in PurePosixPath(path.replace("\\", "/")).parts if p not in (".", "/")]
    return "/".join(_PATH_UNSAFE.sub("*", p) for p in parts)


RUN_KEY = "${{ github.run_id }}-${{ github.run_attempt }}"  # a re-run saves under a key of its own


def _state_key(env: Environment) -> str:
    return f"specops-state-{_safe_name(env.name)}-"


def _state_paths(project: SpecProject, env: Environment) -> list[str]:
    """What the Actions cache carries between runs: the apply state (when kept in local files), and the
    embedded warehouse and registry files when the environment uses them."""
    paths = [] if env.state is not None else [".specops/state", ".specops/applied", ".specops/manifests"]
    if env.warehouse.type == "duckdb":
        paths.append(str(env.warehouse.get("path")))
    if env.tracking_uri.startswith("sqlite:///") and not env.tracking_uri.startswith("sqlite:////"):
        paths += [env.tracking_uri[len("sqlite:///"):], ".specops/mlartifacts"]
    here = _workspace_path(project)
    return [here(p) for p in dict.fromkeys(paths)]


def _restore_state(project: SpecProject, env: Environment) -> list[dict[str, Any]]:
    """Local state lives on the runner only for a job: carry it between runs in the Actions cache.

    Cache entries are immutable, so each run saves under a new key and the next one restores the newest by
    prefix. The cache forgets entries unused for 7 days: environments that need durable state set
    `state: {type: postgres}`, and then their state never touches the cache.
    """
    paths = _state_paths(project, env)
    if not paths:
        return []
    return [{"name": f"Restore the {env.name} apply state", "uses": uses("actions/cache/restore"),
             "with": {"path": "\n".join(paths) + "\n", "key": _state_key(env) + RUN_KEY,
                      "restore-keys": _state_key(env)}}]


def _save_state(project: SpecProject, env: Environment) -> list[dict[str, Any]]:
    paths = _state_paths(project, env)
    if not paths:
        return []
    return [{"name": f"Save the {env.name} apply state", "if": "always()", "uses": uses("actions/cache/save"),
             "with": {"path": "\n".join(paths) + "\n", "key": _state_key(env) + RUN_KEY}}]


def _kubeconfig(env: Environment) -> list[dict[str, Any]]:
    """With a kube context, apply runs kubectl: its config comes from the KUBE_CONFIG secret."""
    if not env.context:
        return []
    return [_run("Write the kubeconfig", 'umask 077; printf \'%s\' "${KUBE_CONFIG}" > "${RUNNER_TEMP}/kubeconfig"',
                 {"KUBE_CONFIG": "${{ secrets.KUBE_CONFIG }}"})]


def secret_env(project: SpecProject, env: Environment, job: str) -> dict[str, str]:
    """Secrets for apply and train (compiler.spec.secrets): warehouse, MLflow token, state backend; kubeconfig."""
    out: dict[str, str] = {}
    for secret in project.secrets_of(env.name):
        if job not in secret.workflows or secret.name == KUBE_CONFIG:
            continue
        if not _ENV_VAR.match(secret.name):
            raise ValueError(f"{env.address}: '{secret.name}' is not an environment variable name")
        out[secret.name] = f"${{{{ secrets.{secret.name} }}}}"
    if job == "apply" and env.context:
        out["KUBECONFIG"] = "${{ runner.temp }}/kubeconfig"
    return out


def _with_key_files(env: Environment, command: str) -> str:
    """The command, after writing each key-file secret (a BigQuery key) to a private file whose path then
    replaces the variable's value: dbt and the BigQuery client read a path."""
    lines = []
    for name in _key_files(env):
        lines += [f'printf \'%s\' "${{{name}}}" > "${{RUNNER_TEMP}}/{name}.json"',
                  f'{name}="${{RUNNER_TEMP}}/{name}.json"', f"export {name}"]
    if lines:
        lines.insert(0, "umask 077")
    return "\n".join([*lines, command]) + ("\n" if lines else "")


def _key_files(env: Environment) -> list[str]:
    """The variables holding a key file (the warehouse's keyfile_env), checked to be variable names."""
    name = env.warehouse.get("keyfile_env")
    if not name:
        return []
    if not _ENV_VAR.match(str(name)):
        raise ValueError(f"{env.address}: '{name}' is not an environment variable name")
    return [str(name)]


def _workflow(project: SpecProject, name: str, on: dict[str, Any], concurrency: dict[str, Any], pip_spec: str,
              jobs: dict[str, Any]) -> dict[str, Any]:
    defaults: dict[str, Any] = {"shell": "bash"}
    if project.project.repository_path:  # one project of a monorepo: its checks are told apart by their names
        defaults["working-directory"] = _workspace_path(project)(".").removesuffix("/.")
        name = f"{name} ({project.project.k8s_name})"
        jobs = {key: {**job, "name": f"{job['name']} ({project.project.k8s_name})"} for key, job in jobs.items()}
    return {
        "name": name,
        "on": on,  # a str key: dumped as 'on', never the YAML 1.1 boolean
        "permissions": {},
        "concurrency": concurrency,
        "env": {"SPECOPS_PIP_SPEC": pip_spec, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        "defaults": {"run": defaults},
        "jobs": jobs,
    }


def _job(name: str, permissions: dict[str, str], timeout: int, steps: list[dict[str, Any]],
         needs: str | list[str] | None = None, env: Environment | None = None) -> dict[str, Any]:
    job: dict[str, Any] = {"name": name}
    if needs:
        job["needs"] = needs if isinstance(needs, str) or len(needs) > 1 else needs[0]
    if env is not None:
        # a manual run from another branch must not deploy unmerged specs
        job["if"] = f"github.ref == 'refs/heads/{DEFAULT_BRANCH}'"
    job["runs-on"] = RUNNER
    if env is not None and env.required_approval:
        job["environment"] = env.name  # GitHub holds the job until a required reviewer approves
    job["permissions"] = permissions
    job["timeout-minutes"] = timeout
    job["steps"] = steps
    return job


def _checkout(project: SpecProject, fetch_depth: int | None = None) -> dict[str, Any]:
    options: dict[str, Any] = {"persist-credentials": False}
    if fetch_depth is not None:
        options["fetch-depth"] = fetch_depth  # the base branch, for `plan --against`
    if project.project.repository_submodules:
        options["submodules"] = "recursive"  # specs kept in a submodule
    return {"name": "Check out", "uses": uses("actions/checkout"), "with": options}


def _setup_python(project: SpecProject) -> dict[str, Any]:
    version = project.project.python_version
    if not _PYTHON.match(version):
        raise ValueError(f"'{version}' is not a Python version such as 3.11")
    return {"name": "Set up Python", "uses": uses("actions/setup-python"), "with": {"python-version": version}}


def _install() -> dict[str, Any]:
    return _run("Install specops", 'python -m pip install "${SPECOPS_PIP_SPEC}"')


def _run(name: str, script: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    step: dict[str, Any] = {"name": name}
    if env:
        step["env"] = env  # on the step only: checkout and pip install never see the secrets
    step["run"] = script
    return step


def plan_marker(project: SpecProject) -> str:
    """The first line of the project's sticky comment: the projects of a monorepo each keep their own comment."""
    if project.project.repository_path:
        return f"<!-- specops-plan: {project.project.k8s_name} -->"
    return PLAN_MARKER


def _sticky_comment_script(marker: str) -> str:
    """Update the bot's comment that starts with the marker, or create it (Atlantis-style)."""
    jq = (f'.[] | select(.user.login == "github-actions[bot]" and (.body | startswith("{marker}")))'
          ' | .id')
    return (
        f"marker='{marker}'\n"
        "# `specops plan --format markdown` starts with the generic marker: the comment starts with this project's\n"
        f'if [ "$(head -n 1 plan.md)" = \'{PLAN_MARKER}\' ]; then\n'
        "  tail -n +2 plan.md > body.md\n"
        "else\n"
        """  { printf '\\n'; cat plan.md; } > body.md\n"""
        "fi\n"
        """{ printf '%s\\n' "${marker}"; cat body.md; } > comment.md\n"""
        f"if [ -f {SITE_DIR}/index.html ]; then\n"
        f"  printf '\\n---\\nThe lineage site with this plan drawn on it: artifact `{SITE_ARTIFACT}` of "
        "[this run](%s/%s/actions/runs/%s) (unzip, open index.html).\\n' \\\n"
        '    "${GITHUB_SERVER_URL}" "${REPO}" "${GITHUB_RUN_ID}" >> comment.md\n'
        "fi\n"
        'comment_id="$(gh api --paginate "repos/${REPO}/issues/${PR_NUMBER}/comments" \\\n'
        f"  --jq '{jq}' | tail -n 1)\"\n"
        'if [ -n "${comment_id}" ]; then\n'
        '  gh api --method PATCH "repos/${REPO}/issues/comments/${comment_id}" -F body=@comment.md > /dev/null\n'
        "else\n"
        '  gh pr comment "${PR_NUMBER}" --repo "${REPO}" --body-file comment.md\n'
        "fi\n"
    )


def _safe_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"'{name}' is not a valid resource name")
    return name


def _render(workflow: dict[str, Any], source: str) -> bytes:
    text = annotate(dump_yaml(workflow, GENERATED.format(source=source)).decode("utf-8"))
    lines = [f"{line} # {_LINE_COMMENTS[line.strip()]}" if line.strip() in _LINE_COMMENTS else line
             for line in text.split("\n")]
    return "\n".join(lines).encode("utf-8")
