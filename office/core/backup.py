"""Backups of a live SQLite database with SQLite's online backup API.

`flask --app wsgi backup-sqlite PATH` runs while the app serves requests: the backup reads
one consistent snapshot (a read transaction under WAL, so writers carry on) and copies it
page by page into a new file. The copy is checked with `PRAGMA integrity_check` before it
takes its final name, so a file at PATH is always a whole, checked backup.

PostgreSQL is backed up with `pg_dump -Fc` (docs/deployment.md).
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from office.core.database import SQLITE_BUSY_TIMEOUT_MS


class BackupError(Exception):
    """The backup could not be made; no file was left at the destination."""


@dataclass
class Backup:
    path: Path
    size_bytes: int
    seconds: float


def backup_sqlite(database: str | os.PathLike, destination: str | os.PathLike) -> Backup:
    """Copy the SQLite database at `database` into the new file `destination`."""
    database, destination = Path(database), Path(destination)
    if not database.is_file():
        raise BackupError(f"There is no SQLite database at {database}.")
    if destination.exists():
        raise BackupError(f"{destination} exists already; choose a new file name.")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    source = sqlite3.connect(database, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    target = sqlite3.connect(partial)
    try:
        # One step (pages=-1): one snapshot; stepping would restart on every concurrent write.
        source.backup(target)
        # A backup is one self-contained file: no -wal beside it to lose when copying it.
        target.execute("PRAGMA journal_mode=DELETE")
        problems = [row[0] for row in target.execute("PRAGMA integrity_check")]
    except sqlite3.Error as error:
        problems = [f"{error.__class__.__name__}: {error}"]
    finally:
        source.close()
        target.close()
    if problems != ["ok"]:
        partial.unlink(missing_ok=True)
        raise BackupError("The copy failed: " + "; ".join(problems[:5]))
    os.replace(partial, destination)
    return Backup(destination, destination.stat().st_size, time.perf_counter() - started)
