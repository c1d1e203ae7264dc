"""Reads a stack file's YAML as the Pulumi CLI does, refusing hostile input before it costs anything (pure logic).

The one YAML reader for stack files (offline plan, posture diff, drills, drill_due.py):
- size: at most MAX_BYTES, checked before reading;
- nesting: at most MAX_DEPTH levels, checked on the event stream before anything is built;
- aliases: allowed, but all of them together may add at most MAX_ALIAS_NODES nodes when expanded
  (a "billion laughs" file is refused in milliseconds), and never refer to themselves;
- only the core tags (strings, numbers, booleans, null, lists, mappings), no duplicate keys;
- scalars as YAML 1.2's core schema reads them: `22:00` is the string "22:00", not 1320.

The Pulumi CLI reads stack files with gopkg.in/yaml.v2 (pulumi/pulumi sdk/go/common/encoding/marshal.go),
which keeps YAML 1.1 habits: yes/no/on/off/y/n are booleans, 0777 is octal, 1_000 is 1000, 0b1 is
binary. A plain scalar the CLI reads differently from YAML 1.2 is an error (the review would not see
what deploys); one that only other YAML 1.1 readers (PyYAML: `22:00` -> 1320, dates) read differently
is reported as a note. Top-level config values are text to the CLI, whatever they look like.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.resolver import BaseResolver, Resolver

MAX_BYTES = 1024 * 1024  # Pulumi.prod.yaml (3 VMs, every feature) is 7 KB
MAX_DEPTH = 64
MAX_ALIAS_NODES = 100_000  # nodes that aliases may add on expansion, all together

_TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL, MAP, SEQ, MERGE = (_TAG + name for name in ("str", "int", "float", "bool", "null", "map", "seq", "merge"))
_CORE_TAGS = {STR, INT, FLOAT, BOOL, NULL, MAP, SEQ, MERGE}


class StackYamlError(Exception):
    """The file is refused; the message names the file, what is wrong and the limit."""


@dataclass(frozen=True)
class StackYaml:
    document: Any
    notes: tuple[str, ...]  # values other YAML 1.1 readers would read differently (not an error)


# --- YAML 1.2 core schema ------------------------------------------------------------------------


class _Core12Resolver(BaseResolver):
    """Implicit tags of the YAML 1.2 core schema (plus `<<` merge keys, which the Pulumi CLI merges too)."""


for _tag, _pattern, _first in (
    (BOOL, r"true|True|TRUE|false|False|FALSE", "tTfF"),
    (NULL, r"~|null|Null|NULL|", "~nN"),
    (INT, r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", "-+0123456789"),
    (FLOAT, r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)", "-+.0123456789"),
    (MERGE, r"<<", "<"),
):
    _Core12Resolver.add_implicit_resolver(_tag, re.compile(rf"^(?:{_pattern})$"), [*_first, ""] if _tag == NULL else list(_first))


def _core12_int(text: str) -> int:
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)  # 0777 is seven hundred seventy-seven in YAML 1.2


def _core12_float(text: str) -> float:
    lowered = text.lower()
    if lowered.endswith(".inf"):
        return -math.inf if text.startswith("-") else math.inf
    if lowered == ".nan":
        return math.nan
    return float(text)


class _Core12Constructor(SafeConstructor):
    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        return _core12_int(self.construct_scalar(node))

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        return _core12_float(self.construct_scalar(node))


_Core12Constructor.add_constructor(INT, _Core12Constructor.construct_yaml_int)
_Core12Constructor.add_constructor(FLOAT, _Core12Constructor.construct_yaml_float)


if yaml.__with_libyaml__:
    class _Loader(yaml.cyaml.CParser, _Core12Constructor, _Core12Resolver):  # type: ignore[misc]
        def __init__(self, text: str):
            yaml.cyaml.CParser.__init__(self, text)
            _Core12Constructor.__init__(self)
            _Core12Resolver.__init__(self)
else:  # pragma: no cover - the pinned PyYAML wheels ship libyaml
    class _Loader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer,  # type: ignore[no-redef]
                  _Core12Constructor, _Core12Resolver):
        def __init__(self, text: str):
            yaml.reader.Reader.__init__(self, text)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)
            _Core12Constructor.__init__(self)
            _Core12Resolver.__init__(self)


# --- how other readers read a plain scalar -------------------------------------------------------

_GO_INT = re.compile(r"([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
_GO_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_GO_WORDS = {
    **dict.fromkeys("y Y yes Yes YES true True TRUE on On ON".split(), True),
    **dict.fromkeys("n N no No NO false False FALSE off Off OFF".split(), False),
    **dict.fromkeys(["", "~", "null", "Null", "NULL"], None),
    **dict.fromkeys([".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"], math.inf),
    **dict.fromkeys(["-.inf", "-.Inf", "-.INF"], -math.inf),
    **dict.fromkeys([".nan", ".NaN", ".NAN"], math.nan),
}


def pulumi_cli_reading(text: str) -> Any:
    """A plain scalar as gopkg.in/yaml.v2 decodes it into interface{} (resolve.go): the Pulumi CLI's reading."""
    if text in _GO_WORDS:
        return _GO_WORDS[text]
    if not text or text[0] not in "+-.0123456789":
        return text  # yaml.v2 tries numbers only for these first characters
    plain = text.replace("_", "")  # and drops underscores before parsing them
    if match := _GO_INT.fullmatch(plain):
        sign, digits = -1 if match[1] == "-" else 1, match[2].lower()
        base = {"0x": 16, "0o": 8, "0b": 2}.get(digits[:2])
        value = int(digits[2:], base) if base else int(digits, 8 if digits.startswith("0") else 10)
        if -2**63 <= sign * value < 2**63:
            return sign * value
    if _GO_FLOAT.fullmatch(plain):
        return float(plain)
    return text  # timestamps too: yaml.v2 hands them to interface{} as strings


_YAML11 = Resolver()


def yaml11_reading(text: str) -> Any:
    """A plain scalar as PyYAML (YAML 1.1) reads it: what this project's tools read before."""
    node = yaml.ScalarNode(_YAML11.resolve(yaml.ScalarNode, text, (True, False)), text)
    return SafeConstructor().construct_object(node, deep=True)


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and repr(a) == repr(b)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "null"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    return f"the {type(value).__name__} {value}"


# --- the loader ----------------------------------------------------------------------------------


def load_stack_yaml(path: Path) -> StackYaml:
    """The document of a stack file, or StackYamlError naming the file, the problem and the limit."""
    name = path.name
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise StackYamlError(f"{name} is {size} bytes; stack files are limited to {MAX_BYTES} bytes (1 MiB)")
        with path.open("rb") as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as error:
        raise StackYamlError(f"cannot read {name}: {error.strerror}") from None
    if len(data) > MAX_BYTES:
        raise StackYamlError(f"{name} is larger than {MAX_BYTES} bytes (1 MiB), the limit for stack files")
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise StackYamlError(f"{name} is not UTF-8 text (byte {error.start}); save it as UTF-8") from None
    try:
        tagged = _check_events(name, text)
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
            if root is None:
                return StackYaml({}, ())
            notes = _check_nodes(name, root, tagged)
            return StackYaml(loader.construct_document(root), tuple(notes))
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        raise StackYamlError(f"{name} is not valid YAML: {error}") from None


def _check_events(name: str, text: str) -> set[int]:
    """Nesting depth and tags, from the parser's events: nothing is built yet, and nothing recurses.

    Returns where the explicitly tagged scalars start (`!!str yes` is a string to every reader).
    """
    depth, tagged = 0, set()
    for event in yaml.parse(text, Loader=_Loader):
        tag = getattr(event, "tag", None)
        if tag and isinstance(event, yaml.ScalarEvent):
            tagged.add(event.start_mark.index)
        if tag and tag != "!" and tag not in _CORE_TAGS:
            raise StackYamlError(f"{name}:{event.start_mark.line + 1}: tag {tag} is not accepted; stack files hold plain "
                                 "strings, numbers, booleans, null, lists and mappings")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise StackYamlError(f"{name}:{event.start_mark.line + 1}: nested deeper than {MAX_DEPTH} levels, the "
                                     "limit for stack files")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return tagged


def _check_nodes(name: str, root: yaml.Node, tagged: set[int]) -> list[str]:
    """Alias expansion, duplicate keys and scalars read differently, over the composed graph (each node once).

    Aliases make the graph a DAG of shared nodes (or a cycle); sizes are counted once per node, iteratively.
    """
    expanded: dict[int, int] = {}
    notes: list[tuple[int, str]] = []
    visiting: set[int] = set()
    reader = _Core12Constructor()
    # (node, where, role, children done); role: "config" for the top-level config mapping, "text" for its values.
    stack: list[tuple[yaml.Node, str, str, bool]] = [(root, "", "", False)]
    while stack:
        node, where, role, children_done = stack.pop()
        key = id(node)
        if children_done:
            visiting.discard(key)
            expanded[key] = 1 + sum(expanded[id(child)] for child in _children(node))
            continue
        if key in expanded:
            continue
        if key in visiting:
            raise StackYamlError(f"{name}:{node.start_mark.line + 1}: {where or 'the document'} contains an alias to "
                                 "itself, which expands without end")
        visiting.add(key)
        stack.append((node, where, role, True))
        if isinstance(node, yaml.ScalarNode):
            if role == "text" and not node.style and node.tag in _CORE_TAGS:
                node.tag = STR  # the CLI keeps a top-level config value as the text written
            elif node.start_mark.index not in tagged:
                _check_scalar(name, node, where, reader, notes)
        elif isinstance(node, yaml.MappingNode):
            _check_keys(name, node, where)
            for key_node, value_node in node.value:
                label = key_node.value if isinstance(key_node, yaml.ScalarNode) else "<key>"
                child_role = ("config" if node is root and label == "config" else "text" if role == "config" else "")
                stack.append((key_node, where, "", False))
                stack.append((value_node, f"{where}.{label}" if where else label, child_role, False))
        else:
            stack.extend((item, f"{where}[{index}]", "", False) for index, item in enumerate(node.value))
    extra = expanded[id(root)] - len(expanded)
    if extra > MAX_ALIAS_NODES:
        raise StackYamlError(f"{name}: YAML aliases expand the document by {extra} nodes; stack files are limited to "
                             f"{MAX_ALIAS_NODES} (repeated aliases that multiply, as in a 'billion laughs' file); "
                             "write the repeated values out")
    return [note for _, note in sorted(set(notes))]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _check_keys(name: str, node: yaml.MappingNode, where: str) -> None:
    seen: dict[tuple[str, str], int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == MERGE:
            continue
        line = key_node.start_mark.line + 1
        first = seen.setdefault((key_node.tag, key_node.value), line)
        if first != line:
            raise StackYamlError(f"{name}:{line}: key {key_node.value!r} of {where or 'the document'} is already set on "
                                 f"line {first}; a reader keeps only one of them, so each key appears once")


def _check_scalar(name: str, node: yaml.ScalarNode, where: str, reader: SafeConstructor, notes: list[tuple[int, str]]) -> None:
    if node.style or node.tag not in (STR, INT, FLOAT, BOOL, NULL):  # libyaml: "" for plain
        return  # quoted or block scalars are strings to every reader
    text, ours = node.value, reader.construct_object(node, deep=True)
    line = f"{name}:{node.start_mark.line + 1}: {where or 'the document'}: {text}"
    cli = pulumi_cli_reading(text)
    if not _same(cli, ours):
        raise StackYamlError(f"{line} is {_shown(cli)} to the Pulumi CLI (YAML 1.1 rules) but {_shown(ours)} in YAML 1.2, "
                             f"so the review and the deployment would differ; quote it (\"{text}\") for the text, or "
                             "write the value plainly (true/false, a decimal number)")
    other = yaml11_reading(text)
    if not _same(other, ours):
        notes.append((node.start_mark.line, f"{line} is read as {_shown(ours)} (YAML 1.2, as the Pulumi CLI reads it); YAML 1.1 readers such as "
                     f"PyYAML read {_shown(other)}; quote it to make it unambiguous"))
