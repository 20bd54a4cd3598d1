"""YAML documents that remember where each value was written, so errors can name the line and column."""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from .errors import ScenarioFileError
from .types import JSON, Where

MAX_FILE_BYTES = 10 * 1024 * 1024  # a scenario or response file larger than this is refused unread
MAX_VALUES = 1_000_000  # values a document may hold once its aliases are expanded (a "billion laughs" stops here)
_TOO_DEEP = "not a usable YAML document: lists and mappings nest too deep"


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


def check_file_size(size: int, filename: str) -> None:
    if size > MAX_FILE_BYTES:
        raise ScenarioFileError(
            filename, None, f"the file is {size} bytes, more than the limit of {MAX_FILE_BYTES} bytes (10 MiB)"
        )


def load_yaml(text: str, filename: str) -> YamlDocument:
    """Parse one YAML document (safe types only); a syntax error names the file, line and column. Oversized
    documents and aliases that expand past `MAX_VALUES` values are refused before anything walks them."""
    check_file_size(len(text.encode("utf-8", "surrogatepass")), filename)
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_expansion(node, filename)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        problem = f"not valid YAML: {exc.problem or exc.context}"
        raise ScenarioFileError(filename, line, problem, column=column) from None
    except yaml.YAMLError as exc:
        raise ScenarioFileError(filename, None, f"not valid YAML: {exc}") from None
    except RecursionError:  # PyYAML composes and constructs recursively
        raise ScenarioFileError(filename, None, _TOO_DEEP) from None
    finally:
        loader.dispose()
    document = YamlDocument(filename, data)
    if node is not None:
        try:
            _record(node, (), document.positions)
        except RecursionError:
            raise ScenarioFileError(filename, None, _TOO_DEEP) from None
    return document


def _check_expansion(root: yaml.Node, filename: str) -> None:
    """Refuse a document whose aliases refer to themselves or expand to more than `MAX_VALUES` values.

    Sizes are counted once per node (aliases share nodes), so the check costs what the text costs, not what it
    expands to. Merge keys (`<<: *defaults`) count as the values they copy."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    pending: list[tuple[yaml.Node, bool]] = [(root, False)]
    while pending:
        node, children_done = pending.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if children_done:
            open_nodes.discard(id(node))
            sizes[id(node)] = size = 1 + sum(sizes[id(child)] for child in children)
            if size > MAX_VALUES:
                raise _expansion_error(node, filename, f"its aliases expand to more than {MAX_VALUES} values")
            continue
        if id(node) in open_nodes:
            raise _expansion_error(node, filename, "an alias refers to a value that contains it")
        open_nodes.add(id(node))
        pending.append((node, True))
        pending.extend((child, False) for child in children if id(child) not in sizes)
        for child in children:
            if id(child) in open_nodes:
                raise _expansion_error(child, filename, "an alias refers to a value that contains it")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _expansion_error(node: yaml.Node, filename: str, problem: str) -> ScenarioFileError:
    mark = node.start_mark
    return ScenarioFileError(filename, mark.line + 1, f"not a usable YAML document: {problem}", column=mark.column + 1)


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
