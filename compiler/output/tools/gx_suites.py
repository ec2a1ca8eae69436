"""Load specops' Great Expectations suites strictly, and run them on a SQLite database.

Run with the Python of a GX 1.x installation (it imports nothing from specops):

    python gx_suites.py load SUITE.json...
        -> {"<file>": {"ok": true, "expectations": 7} | {"ok": false, "error": "..."}}
    python gx_suites.py run < REQUEST.json
        REQUEST: {"database": "/abs/file.sqlite" | "connection_string": "postgresql+psycopg2://...",
                  "suites": [{"file": "...", "table": "...", "schema": "... (optional)", "parameters": {...}}]}
        -> {"<suite name>": {"<check>": {"success": true, "severity": "critical", "type": "...", "error": null}}}

The result is the last line of stdout. Strict: an expectation is built with
ExpectationConfiguration(...).to_domain_obj(), which raises on an unknown type, an unknown or missing
argument, or a bad value; GX's own suite loader would log the problem and drop the expectation.
"""

import contextlib
import io
import json
import sys

SUITE_KEYS = {"name", "id", "expectations", "meta", "notes"}
ENTRY_KEYS = {"type", "kwargs", "meta", "severity", "description", "notes", "id"}


def strict_suite(text: str):
    """The ExpectationSuite of a suite's JSON, or an exception naming what is wrong."""
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    data = json.loads(text)
    unknown = set(data) - SUITE_KEYS
    if unknown:
        raise ValueError(f"unknown suite keys: {sorted(unknown)}")
    made = []
    for i, entry in enumerate(data.get("expectations", [])):
        extra = set(entry) - ENTRY_KEYS
        if extra:
            raise ValueError(f"expectation {i}: unknown keys {sorted(extra)}")
        try:
            config = ExpectationConfiguration(**{k: v for k, v in entry.items() if k != "id"})
            made.append(config.to_domain_obj())
        except Exception as exc:
            raise ValueError(f"expectation {i} ({entry.get('type')}): {type(exc).__name__}: {exc}") from None
    return ExpectationSuite(name=data["name"], expectations=made, meta=data.get("meta") or {},
                            notes=data.get("notes"))


def load(files: list[str]) -> dict:
    out = {}
    for path in files:
        try:
            with open(path, encoding="utf-8") as handle:
                suite = strict_suite(handle.read())
            out[path] = {"ok": True, "expectations": len(suite.expectations)}
        except Exception as exc:
            out[path] = {"ok": False, "error": " ".join(str(exc).split())[:800]}
    return out


def run(request: dict) -> dict:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    if "connection_string" in request:
        source = context.data_sources.add_sql(name="warehouse", connection_string=request["connection_string"])
    else:
        source = context.data_sources.add_sqlite(name="warehouse",
                                                 connection_string=f"sqlite:///{request['database']}")
    out = {}
    for i, item in enumerate(request["suites"]):
        with open(item["file"], encoding="utf-8") as handle:
            suite = context.suites.add(strict_suite(handle.read()))
        schema = {"schema_name": item["schema"]} if item.get("schema") else {}
        asset = source.add_table_asset(name=f"asset_{i}", table_name=item["table"], **schema)
        batch = asset.add_batch_definition_whole_table(f"whole_{i}")
        definition = context.validation_definitions.add(gx.ValidationDefinition(name=f"vd_{i}", data=batch,
                                                                                suite=suite))
        result = definition.run(expectation_parameters=item.get("parameters") or {}, result_format="SUMMARY")
        checks = {}
        for r in result.results:
            config = r.expectation_config
            info = r.exception_info or {}
            raised = [v for v in ([info] if "raised_exception" in info else info.values())
                      if isinstance(v, dict) and v.get("raised_exception")]
            checks[config.meta["specops"]["check"]] = {
                "success": bool(r.success), "severity": str(getattr(config.severity, "value", config.severity)),
                "type": config.type, "error": raised[0].get("exception_message") if raised else None,
                "observed": (r.result or {}).get("observed_value", (r.result or {}).get("unexpected_count")),
            }
        out[suite.name] = checks
    return out


def main(argv: list[str]) -> dict:
    with contextlib.redirect_stdout(io.StringIO()):  # nothing but the result on stdout
        if argv[:1] == ["load"]:
            return load(argv[1:])
        if argv[:1] == ["run"]:
            return run(json.loads(sys.stdin.read()))
    raise SystemExit("usage: gx_suites.py load SUITE.json... | gx_suites.py run < REQUEST.json")


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:]), sort_keys=True, default=str))
