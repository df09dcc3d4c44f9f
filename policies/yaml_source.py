"""Reading policy YAML safely: a size limit before parsing, and a loader that only builds plain data.

PyYAML's ``safe_load`` is safe from code execution but not from surprises a security document must
not have, so the loader here is stricter:

* the document is refused above ``MAX_DOCUMENT_BYTES`` before any parsing (a named, bounded limit);
* aliases are refused outright (no "billion laughs"), and so are explicit tags (``!!float``, ``!!set``);
* duplicate mapping keys are refused (PyYAML silently keeps the last one, so ``equals: false`` twice
  would hide an edit);
* nesting deeper than ``MAX_DEPTH`` is refused (no recursion blow-up);
* scalars resolve only to null, ``true``/``false``, decimal integers and strings. YAML 1.1 would turn
  ``no`` into false, ``012`` into 10, ``1:20`` into 80, ``550.90`` into a float and ``2027-01-31`` into a
  date; here those all stay strings, and the policy compiler reports a wrong operand type instead.
"""

import re
from typing import Any

import yaml
from yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent
from yaml.nodes import MappingNode, Node

from attestation.canonical import JsonValue
from policies.errors import PolicyInvalidError, Problem

MAX_DOCUMENT_BYTES = 256 * 1024
MAX_DEPTH = 32

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")


class _DocumentRefusedError(Exception):
    """Internal: the loader met something a policy document may not contain."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _at(mark: object) -> str:
    line = getattr(mark, "line", None)
    return f" at line {line + 1}" if isinstance(line, int) else ""


class _PlainDataLoader(yaml.SafeLoader):
    """A SafeLoader that resolves only plain scalars and refuses aliases, tags, duplicates and depth."""

    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}  # noqa: RUF012 - PyYAML's class-level table.

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call] # PyYAML's parser is untyped.
        if isinstance(event, AliasEvent):
            raise _DocumentRefusedError(
                "policy.yaml_alias",
                f"YAML aliases are not allowed (alias *{event.anchor}{_at(event.start_mark)})",
            )
        if isinstance(event, ScalarEvent | CollectionStartEvent) and event.tag not in (None, "!"):
            raise _DocumentRefusedError(
                "policy.yaml_tag", f"explicit YAML tags are not allowed ({event.tag}{_at(event.start_mark)})"
            )
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _DocumentRefusedError(
                "policy.too_deep", f"the document nests deeper than {MAX_DEPTH} levels"
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise _DocumentRefusedError(
                    "policy.yaml_key", f"mapping keys must be strings{_at(key_node.start_mark)}"
                )
            if key in seen:
                raise _DocumentRefusedError(
                    "policy.duplicate_key", f"duplicate key {key!r}{_at(key_node.start_mark)}"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_PlainDataLoader.add_implicit_resolver("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""])
_PlainDataLoader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))
_PlainDataLoader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))


def load_yaml_mapping(data: bytes, source: str) -> dict[str, object]:
    """Parse one YAML (or JSON) document that must be a mapping of plain data.

    Raises:
        PolicyInvalidError: the document is too large, not UTF-8, not valid YAML, uses aliases or
            explicit tags, repeats a key, nests too deeply, or is not a mapping (one problem).
    """

    def refuse(code: str, message: str) -> PolicyInvalidError:
        return PolicyInvalidError([Problem(source, code, message)])

    if len(data) > MAX_DOCUMENT_BYTES:
        raise refuse(
            "policy.too_large", f"the document is {len(data)} bytes; the limit is {MAX_DOCUMENT_BYTES} bytes"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse("policy.yaml_invalid", f"the document is not UTF-8 (byte {exc.start})") from None
    loader = _PlainDataLoader(text)
    try:
        value = loader.get_single_data()
    except _DocumentRefusedError as exc:
        raise refuse(exc.code, str(exc)) from None
    except yaml.YAMLError as exc:
        raise refuse("policy.yaml_invalid", f"not valid YAML: {' '.join(str(exc).split())}") from None
    finally:
        loader.dispose()
    if not isinstance(value, dict):
        kind = "empty" if value is None else type(value).__name__
        raise refuse("policy.not_a_mapping", f"the document must be a mapping, not {kind}")
    return value


def as_json_value(value: object) -> JsonValue:
    """``value`` (the loader's output) typed as JSON data, checked all the way down.

    Raises:
        TypeError: the value holds something other than null, booleans, integers, strings, lists
            and string-keyed mappings (the loader never produces that).
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, list):
        return [as_json_value(item) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: as_json_value(item) for key, item in value.items()}
    raise TypeError(f"{type(value).__name__} is not plain JSON data")
