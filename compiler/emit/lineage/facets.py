"""OpenLineage facets as plain data: each with its `_producer` and the `_schemaURL` of its own schema file.

The schema versions are those of the OpenLineage specification the tests validate against
(thirdparty/openlineage: core 2-0-2 and the facet files named below).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from compiler import __version__

PRODUCER = f"https://github.com/specops-dev/specops/releases/tag/v{__version__}"
CORE = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
FACETS = "https://openlineage.io/spec/facets"
# facet key -> (schema file, version, definition)
SCHEMAS: dict[str, tuple[str, str, str]] = {
    "schema": ("SchemaDatasetFacet", "1-2-0", "SchemaDatasetFacet"),
    "columnLineage": ("ColumnLineageDatasetFacet", "1-2-0", "ColumnLineageDatasetFacet"),
    "dataQualityAssertions": ("DataQualityAssertionsDatasetFacet", "1-1-0", "DataQualityAssertionsDatasetFacet"),
    "ownership_job": ("OwnershipJobFacet", "1-0-1", "OwnershipJobFacet"),
    "ownership_dataset": ("OwnershipDatasetFacet", "1-0-1", "OwnershipDatasetFacet"),
    "jobType": ("JobTypeJobFacet", "2-0-4", "JobTypeJobFacet"),
    "sql": ("SQLJobFacet", "1-1-0", "SQLJobFacet"),
    "documentation_job": ("DocumentationJobFacet", "1-1-0", "DocumentationJobFacet"),
    "documentation_dataset": ("DocumentationDatasetFacet", "1-1-0", "DocumentationDatasetFacet"),
    "errorMessage": ("ErrorMessageRunFacet", "1-0-1", "ErrorMessageRunFacet"),
    "processing_engine": ("ProcessingEngineRunFacet", "1-1-1", "ProcessingEngineRunFacet"),
    "version": ("DatasetVersionDatasetFacet", "1-0-1", "DatasetVersionDatasetFacet"),
}


def schema_url(kind: str) -> str:
    file, version, definition = SCHEMAS[kind]
    return f"{FACETS}/{version}/{file}.json#/$defs/{definition}"


def facet(kind: str, **body: Any) -> dict[str, Any]:
    """A facet of `kind` (a key of SCHEMAS) with its body."""
    return {"_producer": PRODUCER, "_schemaURL": schema_url(kind), **body}


def schema(columns: Iterable[tuple[str, str, str | None]]) -> dict[str, Any]:
    """The schema facet from (name, type, description) triples."""
    fields = []
    for position, (name, type_, description) in enumerate(columns, start=1):
        entry: dict[str, Any] = {"name": name, "type": type_}
        if description:
            entry["description"] = description
        entry["ordinal_position"] = position
        fields.append(entry)
    return facet("schema", fields=fields)


def ownership(owner: str, what: str) -> dict[str, Any]:
    """The ownership facet of a job (`what` job) or a dataset (`what` dataset): the spec's metadata.owner."""
    return facet(f"ownership_{what}", owners=[{"name": owner, "type": "MAINTAINER"}])


def documentation(text: str, what: str) -> dict[str, Any]:
    return facet(f"documentation_{what}", description=text)


def job_type(job_type_: str) -> dict[str, Any]:
    return facet("jobType", processingType="BATCH", integration="SPECOPS", jobType=job_type_)


def sql(query: str) -> dict[str, Any]:
    return facet("sql", query=query)


def error_message(message: str) -> dict[str, Any]:
    return facet("errorMessage", message=message, programmingLanguage="PYTHON")


def processing_engine() -> dict[str, Any]:
    return facet("processing_engine", version=__version__, name="specops")


def version(value: str) -> dict[str, Any]:
    return facet("version", datasetVersion=value)


def assertions(items: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """dataQualityAssertions: items with assertion, success and optionally column, severity, name, expected, actual."""
    return facet("dataQualityAssertions", assertions=list(items))


def key(kind: str) -> str:
    """The key a facet of `kind` goes under in a facets object (ownership_job -> ownership)."""
    return kind.split("_")[0] if kind.startswith(("ownership_", "documentation_")) else kind
