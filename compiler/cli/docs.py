"""`specops docs`: the lineage and plan site, written as static files (compiler.emit.site), optionally served."""

from __future__ import annotations

from pathlib import Path

import click

from compiler.cli.common import Given, SpecopsError, environment, guarded, load_project, path_argument
from compiler.paths import shown
from compiler.speed.gc import batch_gc, default_gc

DEFAULT_OUT = ".specops/docs"  # inside the repository's (git-ignored) working folder


@click.command()
@path_argument
@click.option("--out", type=Given(file_okay=False, path_type=Path),
              help=f"Folder for the site (default: {DEFAULT_OUT} in the repository); replaced as a whole.")
@click.option("--plan", "plan_file", type=Given(dir_okay=False, exists=True, path_type=Path),
              help="A plan saved by `specops plan --out FILE` (or --format json), drawn on the graph.")
@click.option("--registry", "registry_env", metavar="ENV",
              help="Also show each model's current alias holder (version, metrics) from this environment's "
                   "MLflow registry. Off by default; an unreachable registry is noted on the pages, not an error.")
@click.option("--serve", is_flag=True, help="Then serve the site on http://127.0.0.1:PORT until Ctrl-C.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port for --serve (0: any free port).")
@guarded
@batch_gc()
def docs(path: Path, out: Path | None, plan_file: Path | None, registry_env: str | None, serve: bool,
         port: int) -> None:
    """Write the lineage site of the repository at PATH: the whole graph, a page per resource, and a plan.

    The site is one folder of static files that opens from disk (index.html), needs no server and no
    network, and holds no data values or secrets. Same specs (and plan), same bytes.
    """
    from compiler.emit.site import build_site, read_plan
    from compiler.output.write import write_output
    from compiler.speed import Speed

    speed = Speed.for_run(use_cache=False)
    project = load_project(path, speed=speed)
    plan = None
    if plan_file is not None:
        try:
            text = plan_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SpecopsError(f"cannot read plan {shown(plan_file)}: {exc}") from None
        plan = read_plan(text, shown(plan_file))
    registry = None
    if registry_env is not None:
        from compiler.cli.registry import read_registry

        env_name = environment(project, registry_env)
        registry = read_registry(project, env_name)
        for name, found in sorted(registry.items()):
            if found.problem:
                click.echo(f"note: model {name}: {found.problem}", err=True)
    artifacts = build_site(project, plan, registry)
    out_dir = (out if out is not None else project.root / DEFAULT_OUT).resolve()
    _refuse(project, out_dir)
    write_output(out_dir, artifacts, write=speed.write_groups)
    size = sum(len(a.content) for a in artifacts)
    click.echo(f"wrote the docs site ({len(artifacts)} files, {size / 1e6:.1f} MB) to {shown(out_dir)}; "
               f"open {shown(out_dir / 'index.html')}")
    if serve:
        with default_gc():  # a server runs for hours: collect as Python does
            _serve(out_dir, port)


def _refuse(project, out_dir: Path) -> None:
    """The site's folder is replaced as a whole: never the repository, a spec folder or compile's output."""
    import json

    from compiler.emit.site import SITE_KIND
    from compiler.paths import output_overlap

    problem = output_overlap(project.root, out_dir, project.project.specs, home=DEFAULT_OUT)
    if problem:
        raise click.BadParameter(f"{shown(out_dir)}: {problem}, and docs replaces its folder as a whole",
                                 param_hint="--out")
    try:
        manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(manifest, dict) and manifest.get("tool") == "specops" and manifest.get("kind") != SITE_KIND:
        raise click.BadParameter(f"{shown(out_dir)} holds `specops compile` output; choose another folder for the "
                                 "site", param_hint="--out")


def _serve(folder: Path, port: int) -> None:
    """Serve the folder on the loopback interface only, until Ctrl-C."""
    import functools
    import http.server

    class Handler(http.server.SimpleHTTPRequestHandler):
        def end_headers(self) -> None:
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Cache-Control", "no-store")
            super().end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    handler = functools.partial(Handler, directory=str(folder))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise SpecopsError(f"cannot serve on 127.0.0.1:{port}: {exc.strerror or exc}; try another --port") from None
    with server:
        click.echo(f"serving {shown(folder)} at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            click.echo("stopped")
