"""YAML documents that remember where each value was written, so errors can name the line and column."""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from .errors import ScenarioFileError
from .types import JSON, Where


@dataclass(frozen=True)
class Position:
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


@dataclass
class YamlDocument:
    """A parsed YAML document and the position of every mapping key and value in it."""

    filename: str
    data: JSON
    positions: dict[Where, Position] = field(default_factory=dict)

    def position_of(self, where: Where) -> Position:
        """The position of `where`, or of its nearest ancestor that was written in the file."""
        for end in range(len(where), -1, -1):
            if where[:end] in self.positions:
                return self.positions[where[:end]]
        return Position(1, 1)

    def error(self, where: Where, problem: str) -> ScenarioFileError:
        position = self.position_of(where)
        return ScenarioFileError(self.filename, position.line, problem, column=position.column)


def load_yaml(text: str, filename: str) -> YamlDocument:
    """Parse one YAML document (safe types only); a syntax error names the file, line and column."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        problem = f"not valid YAML: {exc.problem or exc.context}"
        raise ScenarioFileError(filename, line, problem, column=column) from None
    except yaml.YAMLError as exc:
        raise ScenarioFileError(filename, None, f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    document = YamlDocument(filename, data)
    if node is not None:
        _record(node, (), document.positions)
    return document


def _record(node: yaml.Node, where: Where, positions: dict[Where, Position]) -> None:
    positions[where] = Position(node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*where, str(key_node.value))
            _record(value_node, key, positions)
            positions[key] = Position(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            _record(child, (*where, index), positions)
