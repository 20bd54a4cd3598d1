"""API keys as the live API checks them: no key is a 401, any key passes unless `--api-key` names the valid ones,
`--no-auth` accepts requests without one, and the admin API is not behind the key."""

from __future__ import annotations

import base64
import hmac
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver import Settings, create_app
from mockserver.cli import main
from mockserver.engine.scenarios import ScenarioSet
from mockserver.faults.config import settings_from_env
from mockserver.wire.routes import common
from mockserver.wire.routes.common import masked_key

HELLO = {"model": "gpt-4.1", "input": "hello"}
# The live bodies, as quoted in github.com/ioanmo226/chatgpt-web-application/issues/18 (no key) and
# github.com/popjane/free_chatgpt_api/issues/3 (a wrong key).
NO_KEY = {
    "message": "You didn't provide an API key. You need to provide your API key in an Authorization header using "
    "Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're "
    "accessing the API from your browser and are prompted for a username and password. You can obtain an API key "
    "from https://platform.openai.com/account/api-keys.",
    "type": "invalid_request_error",
    "param": None,
    "code": None,
}
GOOD_KEY = "sk-proj-good-0123456789abcdef"


def client_for(**settings: Any) -> TestClient:
    return TestClient(create_app(Settings(**settings), ScenarioSet()))


@pytest.fixture
def open_server() -> Iterator[TestClient]:
    with client_for() as client:
        yield client


@pytest.fixture
def keyed_server() -> Iterator[TestClient]:
    with client_for(api_keys=(GOOD_KEY, "sk-other")) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/responses"),
        ("POST", "/v1/responses/input_tokens"),
        ("GET", "/v1/responses/resp_123"),
        ("GET", "/v1/responses/resp_123/input_items"),
        ("POST", "/v1/conversations"),
        ("GET", "/v1/conversations/conv_123/items"),
        ("GET", "/v1/models"),
        ("GET", "/v1/models/gpt-4.1"),
    ],
)
def test_no_key_is_the_live_401_on_every_endpoint(open_server: TestClient, method: str, path: str) -> None:
    answer = open_server.request(method, path, json=HELLO if method == "POST" else None)
    assert answer.status_code == 401
    assert answer.json() == {"error": NO_KEY}


def test_an_empty_bearer_token_is_no_key(open_server: TestClient) -> None:
    answer = open_server.post("/v1/responses", json=HELLO, headers={"Authorization": "Bearer "})
    assert (answer.status_code, answer.json()["error"]["code"]) == (401, None)


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer anything"},
        {"authorization": "bearer sk-lower-case-scheme"},
        {"x-api-key": "anything"},
        {"Authorization": "Basic " + base64.b64encode(b":sk-as-password").decode()},
    ],
    ids=["bearer", "lower-case", "x-api-key", "basic-password"],
)
def test_any_key_passes_when_no_keys_are_configured(open_server: TestClient, headers: dict[str, str]) -> None:
    assert open_server.post("/v1/responses", json=HELLO, headers=headers).status_code == 200


def test_only_the_configured_keys_pass(keyed_server: TestClient) -> None:
    assert keyed_server.post("/v1/responses", json=HELLO, headers={"Authorization": f"Bearer {GOOD_KEY}"}).is_success
    assert keyed_server.post("/v1/responses", json=HELLO, headers={"x-api-key": "sk-other"}).is_success
    wrong = keyed_server.post("/v1/responses", json=HELLO, headers={"Authorization": "Bearer sk-WRQsP123456789xQBt"})
    assert wrong.status_code == 401
    assert wrong.json() == {
        "error": {
            "message": "Incorrect API key provided: sk-WRQsP*********xQBt. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }
    missing = keyed_server.get("/v1/models")
    assert (missing.status_code, missing.json()) == (401, {"error": NO_KEY})


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        # As live 401s show them (github.com/popjane/free_chatgpt_api/issues/3, continuedev/continue#11745, #12660,
        # SevaSk/ecoute#163): the first 8 and the last 4 characters, a `*` for each one between; short keys whole.
        ("sk-PMafP" + "x" * 39 + "E873", "sk-PMafP" + "*" * 39 + "E873"),
        ("http://localhost:1234/v1", "http://l************4/v1"),
        ("API_KEY", "API_KEY"),
        ("sk jj", "sk jj"),
        ("twelve-chars", "twelve-chars"),
        ("thirteen-char", "thirteen*char"),
    ],
)
def test_a_wrong_key_is_masked_as_the_live_api_masks_it(key: str, shown: str) -> None:
    assert masked_key(key) == shown


def test_keys_are_compared_in_constant_time_against_every_key(
    keyed_server: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(given: bytes, candidate: bytes) -> bool:
        compared.append((given, candidate))
        return bool(real(given, candidate))

    monkeypatch.setattr(common, "hmac", SimpleNamespace(compare_digest=spy))
    answer = keyed_server.post("/v1/responses", json=HELLO, headers={"Authorization": f"Bearer {GOOD_KEY}"})
    assert answer.status_code == 200
    # every configured key is compared, the matching one first included: no early exit says which key came close
    assert compared == [(GOOD_KEY.encode(), GOOD_KEY.encode()), (GOOD_KEY.encode(), b"sk-other")]


def test_no_auth_accepts_requests_without_a_key_but_still_checks_a_given_one() -> None:
    with client_for(no_auth=True) as client:
        assert client.post("/v1/responses", json=HELLO).status_code == 200
    with client_for(no_auth=True, api_keys=(GOOD_KEY,)) as client:
        assert client.post("/v1/responses", json=HELLO).status_code == 200
        wrong = client.post("/v1/responses", json=HELLO, headers={"x-api-key": "sk-wrong"})
        assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "invalid_api_key")


def test_the_admin_api_needs_no_api_key(open_server: TestClient) -> None:
    assert open_server.get("/__mock__/health").status_code == 200
    assert open_server.get("/__mock__/journal").status_code == 200


def test_no_auth_from_the_command_line_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings_from_env({}).no_auth is False
    assert settings_from_env({"MOCKSERVER_NO_AUTH": "1"}).no_auth is True
    captured: list[Settings] = []

    def serve(settings: Settings, scenarios: object) -> int:
        captured.append(settings)
        return 0

    monkeypatch.setattr("mockserver.cli.serve", serve)
    assert main(["serve", "--no-auth", "--scenarios", "scenarios"]) == 0
    assert main(["serve", "--scenarios", "scenarios"]) == 0
    assert [settings.no_auth for settings in captured] == [True, False]
