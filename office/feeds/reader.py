"""Raw reads for the polling path: compiled selects on a kept-open DB-API connection.

Polling clients mostly get 304: the token lookup and the stamps must cost microseconds,
not an ORM round. `RawSelect` compiles a select() once per engine and runs it on a bare
DB-API cursor (bind and result types still go through SQLAlchemy's processors); inside
`one_connection()` every read of the thread runs on one connection kept out of the pool.

Nothing changed. On SQLite, `unchanged_marker()` tells a poll in a few microseconds whether
anything was committed to the database since its last read (`PRAGMA data_version`), so a
poll of an unchanged database may answer from what the last poll of the same link read
(office/feeds/tokens.py): a revoked link is a commit, and stops the next poll all the same.

Bad weather. A DB-API error leaves here as SQLAlchemy's own exception, so the app answers
503 while the database is away (`sqlalchemy.exc.OperationalError`), not 500. A kept-open
connection that died (the server restarted, a proxy dropped it) is thrown away and the
read runs once more on a fresh one: the first poll after a restart is answered, not 500.
"""

from __future__ import annotations

import atexit
import contextvars
import itertools
import os
import threading
import weakref
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError

from office.core.extensions import db


class RawSelect:
    """A select() compiled once per engine and run on a bare DB-API cursor."""

    def __init__(self, statement):
        self.statement = statement
        self._compiled: dict[int, tuple] = {}
        self._bound_values: dict = {}
        self._args: dict = {}

    def _prepare(self, engine):
        key = id(engine)
        prepared = self._compiled.get(key)
        if prepared is None:
            dialect = engine.dialect
            compiled = self.statement.compile(dialect=dialect)
            processors = {name: bind.type.dialect_impl(dialect).bind_processor(dialect)
                          for name, bind in compiled.binds.items()}
            # Literal values inside the statement (e.g. state = 'active') are binds too.
            defaults = {name: bind.effective_value for name, bind in compiled.binds.items()
                        if not bind.required}
            results = [(index, processor) for index, processor in enumerate(
                c.type.dialect_impl(dialect).result_processor(dialect, None)
                for c in self.statement.selected_columns) if processor is not None]
            names = compiled.positiontup if compiled.positional else list(compiled.binds)
            binds = [(name, processors.get(name), defaults.get(name)) for name in names]
            prepared = (compiled.string, binds, results, compiled.positional)
            self._compiled[key] = prepared
        return prepared

    def _bound(self, name: str, value, process):
        # Polls repeat the same values (the cutoff changes once a minute): process once.
        try:
            return self._bound_values[(process, value)]
        except KeyError:
            pass
        except TypeError:  # unhashable
            return process(value)
        if len(self._bound_values) > 1000:
            self._bound_values.clear()
        processed = self._bound_values[(process, value)] = process(value)
        return processed

    def process_result(self, index: int, value):
        for column, process in self._prepare(db.engine)[2]:
            if column == index:
                return process(value)
        return value

    def all(self, raw_results: bool = False, **params) -> list:
        """The rows; raw_results skips the result processors (cache keys need no parsing)."""
        engine = db.engine
        sql, binds, results, positional = self._prepare(engine)
        # Polls repeat the same parameters (the cutoff moves once a minute): bind once.
        try:
            key = (id(engine), *params.items())
            args = self._args.get(key)
        except TypeError:  # unhashable
            key, args = None, None
        if args is None:
            args = []
            for name, process, default in binds:
                value = params[name] if name in params else default
                if process is not None:
                    value = self._bound(name, value, process)
                args.append(value)
            if not positional:
                args = dict(zip((name for name, _p, _d in binds), args))
            if key is not None:
                if len(self._args) > 1000:
                    self._args.clear()
                self._args[key] = args
        shared = _SHARED_CONNECTION.get()
        if shared is not None:
            rows = _run_on_reader(engine, shared, sql, args)
        else:
            rows = _run_once(engine, sql, args)
        if not results or raw_results:
            return rows
        processed = []
        for row in rows:
            row = list(row)
            for index, process in results:
                row[index] = process(row[index])
            processed.append(row)
        return processed


def _fetch(connection, sql: str, args) -> list:
    cursor = connection.cursor()
    try:
        cursor.execute(sql, args)
        return cursor.fetchall()
    finally:
        cursor.close()


def _run_once(engine, sql: str, args) -> list:
    """Outside one_connection(): a pooled connection for this one read."""
    fairy = _raw_connection(engine)  # the pool pings it first where configured
    try:
        return _fetch(fairy, sql, args)
    except engine.dialect.loaded_dbapi.Error as error:
        if engine.dialect.is_disconnect(error, fairy.dbapi_connection, None):
            fairy.invalidate(error)
        raise _wrapped(engine, sql, args, error) from error
    finally:
        fairy.close()


def _run_on_reader(engine, slot: list, sql: str, args) -> list:
    """On the thread's kept-open connection; a dead one is replaced once, then we give up."""
    dbapi_error = engine.dialect.loaded_dbapi.Error
    try:
        return _fetch(slot[0], sql, args)
    except dbapi_error as error:
        if not engine.dialect.is_disconnect(error, slot[0], None):
            raise _wrapped(engine, sql, args, error) from error
    _drop_reader()
    slot[0] = _reader_connection()
    try:
        return _fetch(slot[0], sql, args)
    except dbapi_error as error:
        _drop_reader()
        raise _wrapped(engine, sql, args, error) from error


def _raw_connection(engine):
    """A DB-API connection from the pool; while the database is away, SQLAlchemy's
    OperationalError (the pool itself lets the driver's own exception through)."""
    try:
        return engine.raw_connection()
    except engine.dialect.loaded_dbapi.Error as error:
        raise _wrapped(engine, "connect", None, error) from error


def _wrapped(engine, sql: str, args, error: Exception) -> DBAPIError:
    """SQLAlchemy's exception for a DB-API error (OperationalError: the database is away)."""
    # hide_parameters: a token's hash is no business of a log line.
    return DBAPIError.instance(sql, args, error, engine.dialect.loaded_dbapi.Error,
                               hide_parameters=True, dialect=engine.dialect)


# A one-element list holding the thread's reader connection while one_connection() runs
# (a list, so a replaced connection is seen by every read that follows).
_SHARED_CONNECTION: contextvars.ContextVar = contextvars.ContextVar("feed_connection", default=None)


class _Reader(threading.local):
    """Per thread, one DB-API connection kept out of the pool for the polling reads.

    Checking a pooled connection out and back in (with its rollback) costs more than the
    two indexed reads a 304 needs. This one is in autocommit mode, so every read sees the
    latest commit (a revoked token stops working at once) and it holds no locks.
    """

    connection = None
    engine = None
    pid = None
    serial = 0        # this connection's number in the process: markers of two differ
    sqlite = False


_READER = _Reader()
# Numbers the reader connections of every thread: each counts its data_version on its own.
_SERIALS = itertools.count(1)


def _reader_connection(engine=None):
    engine = db.engine if engine is None else engine
    reader = _READER
    if (reader.connection is not None and reader.pid == os.getpid()
            and reader.engine is not None and reader.engine() is engine):
        return reader.connection
    _drop_reader()
    fairy = _raw_connection(engine)
    fairy.detach()  # closing it closes it; the pool never sees it again
    connection = fairy.dbapi_connection
    reader.sqlite = engine.dialect.name == "sqlite"
    if not reader.sqlite:  # SQLite is in autocommit mode already
        connection.autocommit = True
    reader.connection, reader.engine, reader.pid = connection, weakref.ref(engine), os.getpid()
    reader.serial = next(_SERIALS)
    return connection


_DATA_VERSION = "PRAGMA data_version"


def unchanged_marker(engine=None):
    """A value that is equal at two calls on this thread's reader connection only if nothing
    was committed to the database in between; None where the database cannot say cheaply.

    SQLite's `PRAGMA data_version` changes when any other connection (of any process)
    commits; `total_changes` counts the reader's own writes (it makes none; said for the
    case where it shares a connection). Read it BEFORE the reads it is to vouch for: a
    commit after it changes the next marker. PostgreSQL: None (no cheap equivalent here).
    Inside `one_connection()` on its connection; outside, give the engine (no app context
    needed).
    """
    slot = _SHARED_CONNECTION.get()
    if slot is not None:
        return _marker(db.engine if engine is None else engine, slot)
    if engine is None or engine.dialect.name != "sqlite":
        return None
    slot = [_reader_connection(engine)]
    try:
        return _marker(engine, slot)
    except Exception:
        _drop_reader()  # as one_connection() does: a connection that saw an error goes
        raise


def _marker(engine, slot: list):
    reader = _READER
    if not reader.sqlite:
        return None
    version = _run_on_reader(engine, slot, _DATA_VERSION, ())[0][0]
    # After the read: a connection replaced by it numbers its own versions.
    return (reader.serial, version, slot[0].total_changes)


def _drop_reader() -> None:
    reader = _READER
    connection, reader.connection, reader.engine = reader.connection, None, None
    if connection is not None and reader.pid == os.getpid():
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - it is being thrown away anyway
            pass


atexit.register(_drop_reader)


@contextmanager
def one_connection():
    """Run the raw reads inside on this thread's reader connection (the 304 path)."""
    if _SHARED_CONNECTION.get() is not None:
        yield
        return
    token = _SHARED_CONNECTION.set([_reader_connection()])
    try:
        yield
    except Exception:
        _drop_reader()  # a connection that saw an error is not reused
        raise
    finally:
        _SHARED_CONNECTION.reset(token)


_PARSED_TIMES: dict = {}


def parsed_time(query: RawSelect, raw):
    """The database's text (SQLite) or value as an aware datetime; polls repeat values."""
    if raw is None:
        return None
    found = _PARSED_TIMES.get(raw)
    if found is None:
        if len(_PARSED_TIMES) > 10_000:
            _PARSED_TIMES.clear()
        found = _PARSED_TIMES[raw] = query.process_result(0, raw)
    return found
