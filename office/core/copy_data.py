"""Carry the data over: copy every table into an empty, migrated database in one run.

Used by `flask --app wsgi copy-data --to postgresql://...` when an office outgrows its
SQLite file. Generic over `db.metadata.sorted_tables`, so tables added by later features
are copied without touching this module. Rows keep their ids; timestamps pass through the
models' column types (aware UTC in, aware UTC out), so instants survive the move from
SQLite's naive UTC text to PostgreSQL's timestamptz.

The whole copy is one transaction on the target: it is either complete, with the row
counts verified per table and the id sequences moved past the copied ids, or nothing.
The source is read in one transaction too (a consistent snapshot under SQLite's WAL);
stop the app servers first, or writes made during the copy are not carried over.

Parents are copied before children (the foreign keys' order) and rows in primary-key
order. A table that refers to itself must therefore refer to lower ids only; a future
model that breaks this needs deferrable constraints.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Integer, MetaData, Table, func, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from office.core.database import read_only

BATCH_SIZE = 1000


class CopyRefused(Exception):
    """The target is not ready (not migrated, not empty, another schema version)."""


class CopyFailed(Exception):
    """The copy ran but did not verify; the target was rolled back."""


@dataclass
class CopiedTable:
    name: str
    rows: int


def copy_database(source: Engine, target: Engine, metadata: MetaData,
                  batch_size: int = BATCH_SIZE) -> list[CopiedTable]:
    """Copy every table of `metadata` from `source` into `target`; return rows per table."""
    check_target_is_ready(source, target, metadata)
    copied: list[CopiedTable] = []
    with source.connect() as reader:
        with read_only():  # a deferred BEGIN: SQLite readers take no write lock
            reader.begin()
        with target.begin() as writer:
            for table in metadata.sorted_tables:
                copied.append(CopiedTable(table.name, _copy_table(reader, writer, table, batch_size)))
            for table in metadata.sorted_tables:
                # Rows the target's triggers wrote while later tables were copied (the
                # calendar token): the source's, again.
                if table.info.get("written_by_triggers"):
                    writer.execute(table.delete())
                    _copy_table(reader, writer, table, batch_size)
            mismatches = [
                f"{table.name}: {expected} in the source, {found} in the target"
                for table in metadata.sorted_tables
                if (expected := _count(reader, table)) != (found := _count(writer, table))
            ]
            if mismatches:
                raise CopyFailed("row counts differ, nothing was kept: " + "; ".join(mismatches))
            if writer.dialect.name == "postgresql":
                set_sequences(writer, metadata)
    return copied


def check_target_is_ready(source: Engine, target: Engine, metadata: MetaData) -> None:
    """Refuse a target that is the source, is not migrated to the same revision, or has rows."""
    if source.url == target.url:
        raise CopyRefused("The target is the database the app is using.")
    try:
        with target.connect() as connection:
            existing = set(inspect(connection).get_table_names())
            if "alembic_version" not in existing:
                raise CopyRefused(
                    "The target database is not migrated: run `flask --app wsgi db upgrade` "
                    "with DATABASE_URL set to it first."
                )
            missing = sorted(t.name for t in metadata.sorted_tables if t.name not in existing)
            if missing:
                raise CopyRefused(f"The target lacks tables {', '.join(missing)}; migrate it first.")
            target_revision = _revision(connection)
            filled = [t.name for t in metadata.sorted_tables
                      if connection.execute(select(text("1")).select_from(t).limit(1)).first()]
    except SQLAlchemyError as error:
        raise CopyRefused(f"Cannot read the target database: {error.__class__.__name__}: {error}")
    with read_only(), source.connect() as connection:
        source_revision = _revision(connection)
    if source_revision != target_revision:
        raise CopyRefused(
            f"The databases are at different migrations (source {source_revision}, "
            f"target {target_revision}); upgrade both to the same revision."
        )
    if filled:
        raise CopyRefused(
            f"The target database is not empty (rows in {', '.join(filled)}); "
            "copy-data only fills an empty, freshly migrated database."
        )


def set_sequences(connection: Connection, metadata: MetaData) -> dict[str, int]:
    """Move every serial/identity sequence past the highest copied id (PostgreSQL)."""
    moved: dict[str, int] = {}
    for table in metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, Integer):
                continue
            sequence = connection.execute(
                select(func.pg_get_serial_sequence(f'"{table.name}"', column.name))
            ).scalar()
            if sequence is None:
                continue
            highest = connection.execute(select(func.max(column))).scalar()
            # setval(seq, 1, false) makes the next id 1 for an empty table.
            connection.execute(select(func.setval(sequence, highest or 1, highest is not None)))
            moved[sequence] = highest or 0
    return moved


def _copy_table(reader: Connection, writer: Connection, table: Table, batch_size: int) -> int:
    query = select(table).order_by(*table.primary_key.columns)
    result = reader.execution_options(yield_per=batch_size).execute(query)
    rows = 0
    for batch in result.partitions():
        writer.execute(table.insert(), [dict(row._mapping) for row in batch])
        rows += len(batch)
    return rows


def _count(connection: Connection, table: Table) -> int:
    return connection.execute(select(func.count()).select_from(table)).scalar_one()


def _revision(connection: Connection) -> str | None:
    if "alembic_version" not in inspect(connection).get_table_names():
        return None
    versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
    return ",".join(sorted(versions)) or None
