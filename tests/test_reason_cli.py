"""`whatworks validate --reason`: HermiT's consistency check from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CLI, run_command

ONTOLOGY_FIXTURES = Path(__file__).parent / "fixtures" / "ontology"


@pytest.mark.slow
def test_the_bundled_base_is_consistent(bundled_store: Path) -> None:
    done = run_command(bundled_store, "validate", "--reason")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1
    assert f"store {bundled_store}: HermiT: consistent (" in done.stdout


@pytest.mark.slow
def test_an_individual_in_two_disjoint_classes_is_inconsistent(cli: CLI) -> None:
    data = ONTOLOGY_FIXTURES / "inconsistent_study_and_finding.ttl"
    result = cli("validate", "--reason", str(data))
    assert result.exit_code == 1, result.output
    first, *axioms = result.stdout.splitlines()
    assert first == f"{data}: HermiT: the ontology and the data are inconsistent."
    assert "  both type Study" in axioms and "  both type Finding" in axioms


def test_without_java_it_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = ONTOLOGY_FIXTURES / "sample_data.ttl"
    monkeypatch.setenv("PATH", str(tmp_path))  # no java there; the script is run by its path
    done = run_command(tmp_path / "store", "validate", "--reason", str(data))
    assert done.returncode == 2
    assert "HermiT needs a Java runtime" in done.stderr
    assert done.stdout == ""


def test_reason_reports_in_text_only(cli: CLI) -> None:
    result = cli("validate", "--reason", "--format", "json")
    assert result.exit_code == 2
    assert "--reason reports in text only" in result.output
