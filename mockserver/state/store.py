"""Where stored responses and conversations live: a small document store with two backends.

Documents are JSON objects kept per kind (`response`, `conversation`) under their id. They are held as compact JSON
bytes, not as Python objects, so a stored response costs about its size on the wire. The store is bounded: past
`max_documents` (or, in memory, `max_bytes`) the oldest documents are evicted first. A document that grows (a
conversation's items) is changed with `modify`, which reads and writes it as one step: under SQLite's write lock, so
servers sharing one file never write over each other's changes.

    MemoryStore   the default: a dict in the server process
    SqliteStore   `serve --state FILE`: shared by several server processes, kept across restarts
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, TypeVar

from ..core.jsonio import dumps, loads
from ..core.types import JSONObject

DEFAULT_MAX_DOCUMENTS = 10_000
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
T = TypeVar("T")
Change = Callable[[JSONObject], T]


def encode(document: JSONObject) -> bytes:
    # A copy of exactly its size: the bytes orjson returns keep the capacity of its growing write buffer (16 KiB
    # for a 2 KB document), which a stored document would hold for as long as it is kept.
    return memoryview(dumps(document)).tobytes()


class Store(Protocol):
    """The interface every backend offers."""

    def get(self, kind: str, key: str) -> JSONObject | None: ...

    def put(self, kind: str, key: str, document: JSONObject) -> None:
        """Insert or replace; a replaced document keeps its place in the eviction order."""

    def modify(self, kind: str, key: str, change: Change[T]) -> T | None:
        """Apply `change` to the stored document and store the result, as one step no other writer (in this process
        or another) can come between; None, and nothing written, when there is no such document. An exception from
        `change` writes nothing."""

    def delete(self, kind: str, key: str) -> bool: ...

    def count(self, kind: str | None = None) -> int: ...

    def mentions(self, kind: str, needle: bytes) -> bool:
        """Whether a document of this kind holds these bytes in its compact JSON (a scan: for rare look-ups)."""

    def clear(self) -> None: ...

    def close(self) -> None: ...


class MemoryStore:
    """Documents in a dict, oldest evicted first past `max_documents` or `max_bytes`."""

    def __init__(self, max_documents: int = DEFAULT_MAX_DOCUMENTS, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_documents = max_documents
        self.max_bytes = max_bytes
        self._documents: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._bytes = 0

    def get(self, kind: str, key: str) -> JSONObject | None:
        raw = self._documents.get((kind, key))
        if raw is None:
            return None
        document: JSONObject = loads(raw)
        return document

    def put(self, kind: str, key: str, document: JSONObject) -> None:
        raw = encode(document)
        old = self._documents.get((kind, key))
        if old is not None:
            self._bytes -= len(old)
        self._documents[(kind, key)] = raw
        self._bytes += len(raw)
        self._evict()

    def modify(self, kind: str, key: str, change: Change[T]) -> T | None:
        document = self.get(kind, key)  # a copy: a change that fails half-way leaves the stored one as it was
        if document is None:
            return None
        result = change(document)
        self.put(kind, key, document)
        return result

    def delete(self, kind: str, key: str) -> bool:
        raw = self._documents.pop((kind, key), None)
        if raw is None:
            return False
        self._bytes -= len(raw)
        return True

    def count(self, kind: str | None = None) -> int:
        if kind is None:
            return len(self._documents)
        return sum(1 for stored_kind, _ in self._documents if stored_kind == kind)

    def mentions(self, kind: str, needle: bytes) -> bool:
        return any(stored_kind == kind and needle in raw for (stored_kind, _), raw in self._documents.items())

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def clear(self) -> None:
        self._documents.clear()
        self._bytes = 0

    def close(self) -> None:
        """Nothing to release."""

    def _evict(self) -> None:
        while self._documents and (len(self._documents) > self.max_documents or self._bytes > self.max_bytes):
            _, raw = self._documents.popitem(last=False)
            self._bytes -= len(raw)


class SqliteStore:
    """Documents in an SQLite file (standard library), oldest evicted first past `max_documents`."""

    def __init__(self, path: str | Path, max_documents: int = DEFAULT_MAX_DOCUMENTS) -> None:
        self.max_documents = max_documents
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS documents ("
            " seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, key TEXT NOT NULL, body BLOB NOT NULL,"
            " UNIQUE (kind, key))"
        )

    def get(self, kind: str, key: str) -> JSONObject | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM documents WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        if row is None:
            return None
        document: JSONObject = loads(row[0])
        return document

    def put(self, kind: str, key: str, document: JSONObject) -> None:
        raw = encode(document)
        with self._lock, self._writing():
            self._write(kind, key, raw)

    def modify(self, kind: str, key: str, change: Change[T]) -> T | None:
        with self._lock, self._writing():
            row = self._db.execute("SELECT body FROM documents WHERE kind = ? AND key = ?", (kind, key)).fetchone()
            if row is None:
                return None
            document: JSONObject = loads(row[0])
            result = change(document)
            self._write(kind, key, encode(document))
            return result

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """A transaction that holds SQLite's write lock from its start (`BEGIN IMMEDIATE`): what is read in it is
        what it overwrites, whatever other processes do meanwhile (they wait up to the connection's timeout)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _write(self, kind: str, key: str, raw: bytes) -> None:
        updated = self._db.execute("UPDATE documents SET body = ? WHERE kind = ? AND key = ?", (raw, kind, key))
        if not updated.rowcount:
            self._db.execute("INSERT INTO documents (kind, key, body) VALUES (?, ?, ?)", (kind, key, raw))
            self._db.execute(
                "DELETE FROM documents WHERE seq <= (SELECT MAX(seq) FROM documents) - ?", (self.max_documents,)
            )

    def delete(self, kind: str, key: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM documents WHERE kind = ? AND key = ?", (kind, key)).rowcount > 0

    def count(self, kind: str | None = None) -> int:
        with self._lock:
            if kind is None:
                row = self._db.execute("SELECT COUNT(*) FROM documents").fetchone()
            else:
                row = self._db.execute("SELECT COUNT(*) FROM documents WHERE kind = ?", (kind,)).fetchone()
        return int(row[0])

    def mentions(self, kind: str, needle: bytes) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM documents WHERE kind = ? AND instr(body, ?) > 0 LIMIT 1", (kind, needle)
            ).fetchone()
        return row is not None

    def clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM documents")

    def close(self) -> None:
        self._db.close()
