"""Errors, in the shape the OpenAI API sends them.

MockServerError
 ├── APIError             an HTTP error answered with {"error": {message, type, param, code}}
 └── ScenarioFileError    a scenario file that cannot be loaded (names the file and line)
"""

from __future__ import annotations

from collections.abc import Mapping

from .types import JSON, Headers, JSONObject, Where


class MockServerError(Exception):
    """Base class of every error mockserver raises on purpose."""


class APIError(MockServerError):
    """An error answered to the client as OpenAI's error envelope, with its HTTP status."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: Headers | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers: Headers = dict(headers or {})

    def body(self) -> JSONObject:
        """The JSON body: every key written out, `null` where there is no value."""
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def __repr__(self) -> str:
        return f"APIError({self.status}, {self.message!r}, param={self.param!r}, code={self.code!r})"


def refused(error: APIError) -> str:
    """What `explain` says of a request the server refuses before any scenario is tried."""
    error_type = ", ".join(
        f"{name} '{value}'" for name, value in (("param", error.param), ("code", error.code)) if value
    )
    return (
        f"The server refuses this request before any scenario is tried: {error.status} {error.type}"
        + (f" ({error_type})" if error_type else "")
        + f".\n{error.message}"
    )


def invalid_request(message: str, *, param: str | None = None, code: str | None = None, status: int = 400) -> APIError:
    """A 400 `invalid_request_error`, the error of every malformed request."""
    return APIError(status, message, type="invalid_request_error", param=param, code=code)


class ScenarioFileError(MockServerError):
    """A scenario file that cannot be used; the message names the file, the line and the problem."""

    def __init__(self, path: str, line: int | None, problem: str, *, column: int | None = None) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.problem = problem
        super().__init__(f"{self.location}: {problem}")

    @property
    def location(self) -> str:
        """`file`, `file:line` or `file:line:column`."""
        if self.line is None:
            return self.path
        return f"{self.path}:{self.line}" + (f":{self.column}" if self.column is not None else "")


class InvalidSpec(MockServerError):
    """A problem inside one scenario, at a key path (`("match", "input", "regex")`); the loader adds file and line."""

    def __init__(self, where: tuple[str | int, ...], problem: str) -> None:
        super().__init__(problem)
        self.where = where
        self.problem = problem


def unknown_key_message(what: str, key: object, known: tuple[str, ...]) -> str:
    """`unknown match key 'modle' (did you mean 'model'?); use one of …`."""
    import difflib

    close = difflib.get_close_matches(str(key), known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown {what} {str(key)!r}{hint}; use one of {', '.join(known)}"


def reject_unknown_keys(spec: Mapping[str, JSON], known: tuple[str, ...], where: Where, what: str) -> None:
    """Refuses the first key of `spec` that is not one of `known` (`what` names such a key in the message)."""
    unknown = [key for key in spec if key not in known]
    if unknown:
        raise InvalidSpec((*where, unknown[0]), unknown_key_message(what, unknown[0], known))
