"""Validate OpenLineage events against the OpenLineage JSON Schemas (thirdparty/openlineage).

An event against `<core $id>#/$defs/RunEvent` (or JobEvent), never the top-level oneOf; every facet in
it (run, job, dataset, input dataset facets) against the file its `_schemaURL` names. All schema files
go into one referencing.Registry, so the facets' references to the core resolve offline. Formats the
jsonschema package leaves unchecked without extras (uuid, date-time) are checked here.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

CORE = "https://openlineage.io/spec/2-0-2/OpenLineage.json"


@cache
def registry(folder: Path) -> Registry:
    resources = []
    for path in [folder / "OpenLineage.json", *sorted((folder / "facets").glob("*.json"))]:
        data = json.loads(path.read_text(encoding="utf-8"))
        resources.append((data["$id"], Resource.from_contents(data, default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


def _errors(folder: Path, ref: str, value: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator({"$ref": ref}, registry=registry(folder))
    return [f"{ref} at {'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(value)]


def _facets(event: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    groups = [event.get("run", {}).get("facets", {}), event.get("job", {}).get("facets", {})]
    for item in [*event.get("inputs", []), *event.get("outputs", [])]:
        groups += [item.get("facets", {}), item.get("inputFacets", {}), item.get("outputFacets", {})]
    for group in groups:
        found += [(key, value) for key, value in group.items()]
    return found


def problems(folder: Path, event: dict[str, Any], kind: str = "RunEvent") -> list[str]:
    """Everything wrong with one event: the core schema, each facet's own schema, the formats."""
    out = _errors(folder, f"{CORE}#/$defs/{kind}", event)
    for key, value in _facets(event):
        url = value.get("_schemaURL", "")
        if not url.startswith("https://openlineage.io/spec/facets/"):
            out.append(f"facet {key}: _schemaURL {url!r} is not an OpenLineage facet schema")
            continue
        out += _errors(folder, url, value)
        # the facet's file says which key it goes under (its single property)
        data = json.loads((folder / "facets" / url.split("#")[0].rsplit("/", 1)[-1]).read_text(encoding="utf-8"))
        if key not in data.get("properties", {}):
            out.append(f"facet {key}: {url} defines {sorted(data.get('properties', {}))}")
    if kind == "RunEvent":
        try:
            uuid.UUID(event["run"]["runId"])
        except (KeyError, ValueError):
            out.append(f"runId {event.get('run', {}).get('runId')!r} is not a UUID")
    if "eventTime" in event:
        try:
            dt.datetime.fromisoformat(event["eventTime"].replace("Z", "+00:00"))
        except ValueError:
            out.append(f"eventTime {event['eventTime']!r} is not an ISO date-time")
    return out
