"""A create request as the scenario matcher and the responders see it: the body plus facts derived from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from .types import JSON, Headers, JSONObject


def content_text(content: JSON) -> str:
    """The text of a message's `content`: a string, or the text parts of a content-part list joined by newlines."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [part.get("text") for part in content if isinstance(part, dict)]
        return "\n".join(text for text in texts if isinstance(text, str))
    return ""


@dataclass
class RequestContext:
    """One create request: its body, its headers (lower-case names) and what a matcher asks of it."""

    body: JSONObject
    headers: Headers = field(default_factory=dict)
    states: dict[str, str] = field(default_factory=dict)
    """The scenario state machines' current states (a machine not listed is in state `start`)."""

    @property
    def model(self) -> str | None:
        model = self.body.get("model")
        return model if isinstance(model, str) else None

    @property
    def stream(self) -> bool:
        return self.body.get("stream") is True

    history: list[JSONObject] = field(default_factory=list)
    """Items of the earlier turns of a `previous_response_id` chain (inputs and outputs), oldest first."""
    turn: int = 1
    """This request's turn in its chain (1 without `previous_response_id`)."""

    @cached_property
    def turn_items(self) -> list[JSONObject]:
        """This request's `input` as a list of items; a plain string is one user message."""
        raw = self.body.get("input")
        if isinstance(raw, str):
            return [{"type": "message", "role": "user", "content": raw}]
        if isinstance(raw, list):
            return [item for item in raw if isinstance(item, dict)]
        return []

    @cached_property
    def input_items(self) -> list[JSONObject]:
        """The whole context: the chain's earlier items, then this request's input."""
        return [*self.history, *self.turn_items] if self.history else self.turn_items

    @cached_property
    def last_user_text(self) -> str:
        """The text of the last user message in `input` ("" when there is none)."""
        for item in reversed(self.input_items):
            if item.get("role") == "user" and item.get("type", "message") == "message":
                return content_text(item.get("content"))
        return ""

    @cached_property
    def input_text(self) -> str:
        """The text of every message in `input`, one per line."""
        texts = (content_text(item.get("content")) for item in self.input_items if "role" in item)
        return "\n".join(text for text in texts if text)

    @cached_property
    def input_item_types(self) -> frozenset[str]:
        return frozenset(str(item.get("type", "message")) for item in self.input_items)

    @cached_property
    def tools(self) -> list[JSONObject]:
        """The tools offered (only well-formed entries: explain and matching see bodies nobody validated)."""
        tools = self.body.get("tools")
        return [tool for tool in tools if isinstance(tool, dict)] if isinstance(tools, list) else []

    @cached_property
    def tool_names(self) -> frozenset[str]:
        """Names of the function and custom tools offered, plus the type of every hosted tool."""
        names: set[str] = set()
        for tool in self.tools:
            name = tool.get("name")
            names.add(name if isinstance(name, str) else str(tool.get("type")))
        return frozenset(names)

    @cached_property
    def function_call_outputs(self) -> list[JSONObject]:
        """The `function_call_output` items of `input`, each with the `name` of the call it answers when known."""
        names = {
            item.get("call_id"): item.get("name")
            for item in self.input_items
            if item.get("type") == "function_call" and isinstance(item.get("name"), str)
        }
        outputs = []
        for item in self.input_items:
            if item.get("type") == "function_call_output":
                output = item.get("output")
                outputs.append(
                    {
                        "call_id": item.get("call_id"),
                        "name": item.get("name") or names.get(item.get("call_id")),
                        "output": output if isinstance(output, str) else content_text(output),
                    }
                )
        return outputs

    @property
    def text_format(self) -> JSONObject:
        text = self.body.get("text")
        fmt = text.get("format") if isinstance(text, dict) else None
        return fmt if isinstance(fmt, dict) else {"type": "text"}
