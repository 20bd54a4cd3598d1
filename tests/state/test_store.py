"""The document store: the same behaviour from both backends, bounded, oldest evicted first."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from mockserver.state.store import MemoryStore, SqliteStore, Store
from tests.wire.test_limits import serving


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


# ---------------------------------------------------------------- several server processes on one state file

WRITERS = 6
WRITES_PER_WRITER = 50
AUTH = {"Authorization": "Bearer sk-test"}


def all_item_ids(client: httpx.Client, conversation_id: str) -> list[str]:
    ids: list[str] = []
    after: str | None = None
    while True:
        params = {"limit": "100", "order": "asc", **({"after": after} if after else {})}
        page = client.get(f"/conversations/{conversation_id}/items", params=params).json()
        ids += [item["id"] for item in page["data"]]
        if not page["has_more"]:
            return ids
        after = page["last_id"]


def test_two_servers_sharing_a_state_file_keep_every_acknowledged_write(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    with serving("--state", str(state)) as first, serving("--state", str(state)) as second:
        bases = (first.base_url, second.base_url)
        clients = [httpx.Client(base_url=base, headers=AUTH, timeout=60) for base in bases]
        conversation_id = clients[0].post("/conversations", json={}).json()["id"]
        acknowledged: list[list[str]] = [[] for _ in range(WRITERS)]
        refused: list[str] = []

        def write(writer: int) -> None:
            with httpx.Client(headers=AUTH, timeout=60) as http:
                for number in range(WRITES_PER_WRITER):
                    base = bases[(writer + number) % 2]  # alternating between the servers
                    if number % 5 == 4:  # a turn: the input and the answer join the conversation
                        body = {"model": "gpt-4.1", "input": f"w{writer} n{number}", "conversation": conversation_id}
                        answer = http.post(f"{base}/responses", json=body)
                        if answer.status_code != 200:
                            refused.append(answer.text[:200])
                            continue
                        acknowledged[writer] += [f"turn {item['id']}" for item in answer.json()["output"]]
                        continue
                    item = {"type": "message", "role": "user", "content": f"w{writer} n{number}"}
                    added = http.post(f"{base}/conversations/{conversation_id}/items", json={"items": [item]})
                    if added.status_code != 200:
                        refused.append(added.text[:200])
                        continue
                    acknowledged[writer] += [entry["id"] for entry in added.json()["data"]]

        threads = [threading.Thread(target=write, args=(writer,)) for writer in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        kept = [all_item_ids(client, conversation_id) for client in clients]
        for client in clients:
            client.close()

    added = [entry for entries in acknowledged for entry in entries if not entry.startswith("turn ")]
    outputs = [entry[5:] for entries in acknowledged for entry in entries if entry.startswith("turn ")]
    print(f"\nacknowledged {len(added)} added items and {len(outputs)} turns; kept {len(kept[0])} items")
    assert refused == []
    assert len(added) == WRITERS * WRITES_PER_WRITER * 4 // 5 and len(outputs) == WRITERS * WRITES_PER_WRITER // 5
    assert kept[0] == kept[1]  # both servers read the one state
    lost = set(added + outputs) - set(kept[0])
    assert not lost, f"{len(lost)} of {len(added) + len(outputs)} acknowledged items lost"
    assert len(kept[0]) == len(added) + 2 * len(outputs)  # each turn adds its input message and its output
