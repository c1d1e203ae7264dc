"""Resource URNs as the Pulumi engine computes them, and the old URNs each resource's aliases claim (pure logic).

The mock engine's URNs keep only the parent's last type; the engine's carry the parent's whole
qualified type chain (`irisbackup:vault:BackupVault$irisbackup:policy:BackupPolicy$azure-native:...`),
and children of the root stack carry none. A resource's state is found again under its new URN only
through an alias: its own (`ResourceOptions.aliases`) or one inherited from an aliased parent. Without
one, a changed URN is a delete of the old resource and a create of a new one.
Engine behaviour: pulumi/pulumi pkg/resource/urn.go (NewURN) and deploy/step_generator.go (generateAliases).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ROOT_STACK = "pulumi:pulumi:Stack"
# azure-native adds one alias per older API version of the type (azure-native:recoveryservices/v20230401:Vault):
# they match state written by older SDK versions, never this program's own resources, so they are left out.
_API_VERSION_TYPE = re.compile(r"^(?P<package>[^:]+):(?P<module>[^:/]+)/[^:]+:(?P<name>[^:]+)$")


@dataclass(frozen=True)
class Node:
    """One registration: `key` is how others name it as parent (`parent` is a key, or "" for the root stack)."""

    key: str
    type: str
    name: str
    parent: str = ""
    # Alias specs as sent to the engine: {"urn": ...} or {"name", "type", "stack", "project", "parentUrn", "noParent"}.
    aliases: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


def make_urn(stack: str, project: str, parent_type: str, type_: str, name: str) -> str:
    return f"urn:pulumi:{stack}::{project}::{parent_type + '$' if parent_type else ''}{type_}::{name}"


def qualified_type(urn: str) -> str:
    """The type chain of a URN; "" for the root stack (its children carry no parent type)."""
    parts = urn.split("::", 3)
    qualified = parts[2] if len(parts) > 2 else ""
    return "" if qualified == ROOT_STACK else qualified


def is_api_version_alias(spec: Mapping[str, Any], type_: str) -> bool:
    """An azure-native alias to an older API version of the same type, and nothing else changed."""
    match = _API_VERSION_TYPE.match(str(spec.get("type") or ""))
    if not match or spec.get("name") or spec.get("parentUrn") or spec.get("noParent") or spec.get("urn"):
        return False
    return type_ == f"{match['package']}:{match['module']}:{match['name']}"


def engine_urns(nodes: Sequence[Node], stack: str, project: str) -> dict[str, tuple[str, list[str]]]:
    """key -> (the engine's URN, the old URNs its aliases claim, own and inherited)."""
    by_key = {node.key: node for node in nodes}
    resolved: dict[str, tuple[str, list[str]]] = {}

    def resolve(node: Node) -> tuple[str, list[str]]:
        if node.key in resolved:
            return resolved[node.key]
        resolved[node.key] = ("", [])  # a parent cycle cannot happen in Pulumi; guard the recursion anyway
        parent = by_key.get(node.parent)
        parent_urn, parent_aliases = resolve(parent) if parent else ("", [])
        own = make_urn(stack, project, qualified_type(parent_urn), node.type, node.name)
        claimed: list[str] = []
        named = [(node.type, node.name)]
        for spec in node.aliases:
            if spec.get("urn"):
                claimed.append(str(spec["urn"]))
                continue
            type_, name = spec.get("type") or node.type, spec.get("name") or node.name
            if spec.get("noParent"):
                alias_parent = ""
            elif spec.get("parentUrn"):
                target = by_key.get(str(spec["parentUrn"]))
                alias_parent = resolve(target)[0] if target else str(spec["parentUrn"])
            else:
                alias_parent = parent_urn
                named.append((type_, name))
            claimed.append(make_urn(spec.get("stack") or stack, spec.get("project") or project,
                                    qualified_type(alias_parent), type_, name))
        # A parent's aliases carry over to its children: the child under each of the parent's old URNs.
        claimed += [make_urn(stack, project, qualified_type(old_parent), type_, name)
                    for old_parent in parent_aliases for type_, name in named]
        resolved[node.key] = (own, [urn for urn in dict.fromkeys(claimed) if urn != own])
        return resolved[node.key]

    return {node.key: resolve(node) for node in nodes}


def plan_urns(resources: Sequence[Mapping[str, Any]], stack: str, project: str) -> list[tuple[str, list[str]]]:
    """Per plan-JSON resource, its URN and aliases: as recorded, or (a plan written before it recorded them)
    derived from type, name and parent name; such plans recorded no aliases."""
    if all(resource.get("urn") for resource in resources):
        return [(str(resource["urn"]), list(resource.get("aliases") or [])) for resource in resources]
    # Plans list resources by type: of two with one name, the later is the component (irisbackup:...).
    by_name = {str(resource.get("name")): str(index) for index, resource in enumerate(resources)}
    nodes = [Node(str(index), str(resource.get("type")), str(resource.get("name")),
                  by_name.get(str(resource.get("parent")), "") if resource.get("parent") else "")
             for index, resource in enumerate(resources)]
    urns = engine_urns(nodes, stack, project)
    return [urns[str(index)] for index in range(len(resources))]
