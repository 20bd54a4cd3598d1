"""The document store: the same behaviour from both backends, bounded, oldest evicted first."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mockserver.store import MemoryStore, SqliteStore, Store


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Store]]:
    opened: list[SqliteStore] = []

    def make(max_documents: int = 100) -> Store:
        if request.param == "memory":
            return MemoryStore(max_documents=max_documents)
        store = SqliteStore(tmp_path / f"state-{len(opened)}.sqlite", max_documents=max_documents)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def test_put_get_replace_delete(make_store: Callable[..., Store]) -> None:
    store = make_store()
    store.put("response", "resp_1", {"a": 1, "text": "é"})
    store.put("conversation", "resp_1", {"kind": "other"})

    assert store.get("response", "resp_1") == {"a": 1, "text": "é"}
    store.put("response", "resp_1", {"a": 2})
    assert store.get("response", "resp_1") == {"a": 2}
    assert store.count("response") == 1 and store.count() == 2
    assert store.delete("response", "resp_1") is True
    assert store.delete("response", "resp_1") is False
    assert store.get("response", "resp_1") is None
    assert store.get("conversation", "resp_1") == {"kind": "other"}


def test_mentions_finds_bytes_in_one_kind_only(make_store: Callable[..., Store]) -> None:
    store = make_store()
    store.put("response", "resp_1", {"output": [{"id": "rs_1", "type": "reasoning"}]})
    store.put("conversation", "conv_1", {"items": [{"id": "msg_1"}]})

    assert store.mentions("response", b'"id":"rs_1"')
    assert not store.mentions("response", b'"id":"msg_1"')
    assert store.mentions("conversation", b'"id":"msg_1"')
    assert not store.mentions("response", b'"id":"rs_2"')


def test_documents_are_copies(make_store: Callable[..., Store]) -> None:
    store = make_store()
    document = {"items": [1]}
    store.put("response", "r", document)
    document["items"].append(2)
    fetched = store.get("response", "r")
    fetched["items"].append(3)

    assert store.get("response", "r") == {"items": [1]}


def test_bound_evicts_the_oldest(make_store: Callable[..., Store]) -> None:
    store = make_store(max_documents=3)
    for number in range(5):
        store.put("response", f"r{number}", {"n": number})

    assert store.count() == 3
    assert store.get("response", "r0") is None and store.get("response", "r1") is None
    assert store.get("response", "r4") == {"n": 4}


def test_clear(make_store: Callable[..., Store]) -> None:
    store = make_store()
    store.put("response", "r", {})
    store.clear()
    assert store.count() == 0


def test_memory_store_byte_bound() -> None:
    store = MemoryStore(max_documents=1000, max_bytes=100)
    for number in range(10):
        store.put("response", f"r{number}", {"text": "x" * 30})

    assert store.size_bytes <= 100
    assert store.get("response", "r9") is not None and store.get("response", "r0") is None


def test_sqlite_store_is_shared_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    first, second = SqliteStore(path), SqliteStore(path)
    first.put("response", "r", {"kept": True})
    assert second.get("response", "r") == {"kept": True}
    first.close()
    second.close()

    reopened = SqliteStore(path)
    assert reopened.get("response", "r") == {"kept": True}
    reopened.close()
