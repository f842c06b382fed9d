"""`whatworks backup DIR` and `whatworks restore DIR`: a round trip gives the same store
(compared as canonical N-Quads), a folder that is not a backup is refused, and a backup or
restore killed with SIGKILL leaves the store as it was (or, for a restore killed during
its swap, as the backup, once the store is opened again)."""

from __future__ import annotations

import shutil
import signal
import sys
from pathlib import Path

import pytest

from tests.conftest import SYNTHETIC_BASE, run_command
from tests.test_faults import _TIMES, DRIVER, PhaseWatch, write_version
from whatworks.core.engine import LIVE
from whatworks.core.store import open_store


def canonical_nquads(store: Path) -> list[str]:
    """The store's quads as N-Quads lines, sorted (the store holds no blank nodes)."""
    done = run_command(store, "export", "--format", "nquads")
    assert done.returncode == 0, done.stderr
    lines = sorted(line for line in done.stdout.splitlines() if line.strip())
    assert lines
    return lines


def untimed(lines: list[str]) -> list[str]:
    """N-Quads lines with the times an ingest stamps blanked and the version left out."""
    return [_TIMES.sub("T", line) for line in lines if "#versionInfo>" not in line]


def ingest(store: Path, files: list[Path]) -> None:
    done = run_command(store, "ingest", "-q", "--id-base", SYNTHETIC_BASE, *map(str, files))
    assert done.returncode == 0, done.stderr[-3000:]


def cli_args(store: Path, *args: str) -> list[str]:
    return [sys.executable, "-u", "-c", DRIVER, "--store", str(store), *args]


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[Path]]:
    root = tmp_path_factory.mktemp("backup")
    return write_version(root / "a", "a", 12), write_version(root / "b", "b", 8)


@pytest.fixture
def store(tmp_path: Path, versions: tuple[list[Path], list[Path]]) -> Path:
    folder = tmp_path / "store"
    ingest(folder, versions[0])
    return folder


def test_round_trip_gives_the_same_quads(
    store: Path, tmp_path: Path, versions: tuple[list[Path], list[Path]]
) -> None:
    before = canonical_nquads(store)
    backup = tmp_path / "backups" / "one"
    done = run_command(store, "backup", str(backup))
    assert done.returncode == 0, done.stderr
    assert str(backup) in done.stdout
    ingest(store, versions[1])
    changed = canonical_nquads(store)
    assert changed != before
    done = run_command(store, "restore", str(backup))
    assert done.returncode == 0, done.stderr
    assert canonical_nquads(store) == before
    # the restored store (the engine's files in its folder) takes ingests again, switching
    # to versions at the first (decision 0019)
    ingest(store, versions[1])
    assert (store / LIVE).is_symlink()
    assert untimed(canonical_nquads(store)) == untimed(changed)
    done = run_command(store, "restore", str(backup))
    assert done.returncode == 0, done.stderr
    assert canonical_nquads(store) == before
    # the backup is unchanged by the restore, and restores into a new folder too
    elsewhere = tmp_path / "elsewhere"
    done = run_command(elsewhere, "restore", str(backup))
    assert done.returncode == 0, done.stderr
    assert canonical_nquads(elsewhere) == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_restore_refuses_a_folder_that_is_not_a_backup(store: Path, tmp_path: Path) -> None:
    before = canonical_nquads(store)
    other = tmp_path / "other"
    other.mkdir()
    (other / "CURRENT").write_text("MANIFEST-000001\n")
    done = run_command(store, "restore", str(other))
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and str(other) in done.stderr
    assert "not a whatworks backup" in done.stderr
    assert canonical_nquads(store) == before


def test_backup_refuses_an_existing_folder(store: Path, tmp_path: Path) -> None:
    existing = tmp_path / "existing"
    existing.mkdir()
    done = run_command(store, "backup", str(existing))
    assert done.returncode == 2
    assert str(existing) in done.stderr and "already exists" in done.stderr
    assert list(existing.iterdir()) == []


def test_remote_stores_are_told_to_export(tmp_path: Path) -> None:
    done = run_command(tmp_path, "--store", "http://127.0.0.1:9/sparql", "backup", "x")
    assert done.returncode == 2 and "embedded store only" in done.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["start", "store:backup", "store:rename"])
def test_killed_backup_leaves_the_store_untouched(store: Path, tmp_path: Path, phase: str) -> None:
    before = canonical_nquads(store)
    target = tmp_path / "killed"
    watch = PhaseWatch(cli_args(store, "backup", str(target)))
    reached = watch.wait_for(phase)
    watch.process.send_signal(signal.SIGKILL)
    code = watch.finish()
    assert reached or code == 0, watch.labels()
    assert canonical_nquads(store) == before
    # The backup is whole or absent; what a kill left beside it goes with the next backup.
    if target.exists():
        shutil.rmtree(target)
    done = run_command(store, "backup", str(target))
    assert done.returncode == 0, done.stderr
    assert not list(tmp_path.glob(".killed.backup-*"))
    assert canonical_nquads(store) == before


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["restore:copy", "restore:swap", "restore:swapped"])
def test_killed_restore_leaves_old_or_backup(
    store: Path, tmp_path: Path, versions: tuple[list[Path], list[Path]], phase: str
) -> None:
    backup = tmp_path / "backup"
    assert run_command(store, "backup", str(backup)).returncode == 0
    saved = canonical_nquads(store)
    ingest(store, versions[1])
    current = canonical_nquads(store)
    watch = PhaseWatch(cli_args(store, "restore", str(backup)))
    reached = watch.wait_for(phase)
    watch.process.send_signal(signal.SIGKILL)
    code = watch.finish()
    assert reached or code == 0, watch.labels()
    open_store(store).close()  # a writable opening finishes a half-done swap
    found = canonical_nquads(store)
    assert found in (saved, current), phase
    if phase == "restore:swapped" and code != 0:
        assert found == saved  # the copy was in place: the restore is finished
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".store.")]
