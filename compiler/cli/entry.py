"""The `specops` executable: the click command group, then a quick exit (compiler.speed.quickexit)."""

from __future__ import annotations


def run() -> None:
    from compiler.cli.main import main
    from compiler.speed.quickexit import exit_now

    try:
        main(prog_name="specops")
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    exit_now(code)
