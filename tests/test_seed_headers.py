"""A file source's CSV header against its declared columns (compiler.front.rules.seeds): a declared column the
file lacks is an error at validate, not a failed dbt test at apply."""

from __future__ import annotations

import pytest
from conftest import parse_text_report

CUSTOMERS = "specs/datasets/customers.yaml"
CSV = "data/customers.csv"


def _rename_header(edit, old: str, new: str) -> None:
    path = edit.path(CSV)
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[0] = ",".join(new if h == old else h for h in lines[0].split(","))
    path.write_text("\n".join(lines), encoding="utf-8")


def _found(result):
    return [(d.severity, CUSTOMERS if d.is_in(CUSTOMERS) else d.path, d.line, d.message.split(": ", 1)[-1])
            for d in parse_text_report(result.output) if d.code == "seed-header"]


def test_a_declared_column_missing_from_the_header_is_an_error_at_its_line(edit, validate_cli):
    _rename_header(edit, "email", "e_mail")
    result = validate_cli(edit.root)
    assert result.exit_code == 1, result.output
    found = _found(result)
    assert ("error", CUSTOMERS, edit.line_of(CUSTOMERS, "- name: email"),
            f"column 'email' is not in the header of {CSV}") in found
    assert "did you mean 'e_mail'?" in result.output
    (warning,) = [f for f in found if f[0] == "warning"]  # and the file's column nobody declared
    assert "1 column(s) dataset.customers does not declare: e_mail" in warning[3]


def _write_header(edit, header: str) -> None:
    path = edit.path(CSV)
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[0] = header + "," + ",".join(lines[0].split(",")[3:])
    path.write_text("\n".join(lines), encoding="utf-8")


def test_quoting_of_the_header_does_not_matter(edit, validate_cli):
    _write_header(edit, '"customer_id","email","full_name"')
    result = validate_cli(edit.root)
    assert result.exit_code == 0 and not _found(result), result.output


@pytest.mark.parametrize(("header", "written"), [("customer_id,EMAIL,full_name", "'EMAIL'"),
                                                 ("customer_id, email,full_name", "' email'")])
def test_a_header_writing_a_declared_name_otherwise_is_an_error(edit, validate_cli, header, written):
    """dbt types a seed column by its exact name: `EMAIL` or ` email` would be loaded with a guessed type."""
    _write_header(edit, header)
    result = validate_cli(edit.root)
    assert result.exit_code == 1, result.output
    (found,) = _found(result)
    assert found[:3] == ("error", CUSTOMERS, edit.line_of(CUSTOMERS, "- name: email"))
    assert found[3].startswith(f"{CSV}'s header writes {written} for column 'email'"), found
    assert "hint: write email in the header" in result.output


def test_a_header_naming_a_column_twice_is_an_error(edit, validate_cli):
    _rename_header(edit, "full_name", "email")
    result = validate_cli(edit.root)
    assert result.exit_code == 1
    assert any("names 'email' more than once" in f[3] for f in _found(result)), result.output


@pytest.mark.parametrize(("content", "says"), [
    (b"", "the file is empty: dbt needs a header row to load a seed"),
    (b"customer_id,email\n1,caf\xe9@x.example\n", "byte 0xe9 on line 2 is not UTF-8 (dbt reads seeds as UTF-8)"),
    (b"\ncustomer_id,email\n", "its first line is empty: dbt reads the first line as the header"),
])
def test_a_file_dbt_cannot_load_is_an_error_at_its_path(edit, validate_cli, content, says):
    edit.path(CSV).write_bytes(content)
    result = validate_cli(edit.root)
    assert result.exit_code == 1, result.output
    assert ("error", CUSTOMERS, edit.line_of(CUSTOMERS, "path: data/customers.csv"), f"{CSV}: {says}") in \
        _found(result), result.output


def test_a_header_column_without_a_name_is_an_error(edit, validate_cli):
    path = edit.path(CSV)
    lines = path.read_text(encoding="utf-8").split("\n")
    path.write_text("\n".join([lines[0] + ",", *(f"{line}," for line in lines[1:] if line)]) + "\n", encoding="utf-8")
    result = validate_cli(edit.root)
    assert result.exit_code == 1, result.output
    assert any(f[3] == f"{CSV}'s header has no name for column 8" for f in _found(result)), result.output
