"""Runs __main__.py under Pulumi's mock engine and records every registration with its options."""

from __future__ import annotations

import asyncio
import runpy
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks, rpc, settings

from .stack_file import StackConfig
from .urns import Node, engine_urns, is_api_version_alias

PROJECT = "irisbackup"
SECRET_MASK = "[secret]"


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    dependencies: list[str] = field(default_factory=list)
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    # ResourceOptions.aliases as sent to the engine (offline_plan/urns.py resolves them), without
    # azure-native's aliases to older API versions of the type.
    aliases: list[dict[str, Any]] = field(default_factory=list)


def group_by_type(resources: list[Registration]) -> dict[str, list[Registration]]:
    """Registrations grouped by resource type, each group in registration order."""
    groups: dict[str, list[Registration]] = {}
    for resource in resources:
        groups.setdefault(resource.type, []).append(resource)
    return groups


@dataclass
class PlanRun:
    stack: str
    resources: list[Registration]
    outputs: dict[str, Any]


class _OfflineMocks(pulumi.runtime.Mocks):
    """A readable stand-in for the ID Azure would assign, and the resource's name as an output."""

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str, dict]:
        outputs: dict[str, Any] = {"name": _physical_name(args.inputs, args.name)}
        identity = args.inputs.get("identity")
        if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
            # The SDK fills missing outputs from inputs, but a vault's user-assigned identities go in
            # as a list and come back from Azure as a map keyed by identity ID.
            outputs["identity"] = dict(identity, userAssignedIdentities={i: {} for i in identity["userAssignedIdentities"]})
        if args.typ == "azure-native:managedidentity:UserAssignedIdentity":
            # Output-only values Azure assigns, which role assignments and exports refer to.
            outputs.update({key: f"<{key} of {args.name}>" for key in ("principalId", "clientId", "tenantId")})
        return f"<id of {args.name}>", outputs

    def call(self, args: mocks.MockCallArgs) -> dict:
        # Lookups of existing identities (role assignments to a VM's identity): a readable stand-in.
        if args.token == "azure-native:managedidentity:getUserAssignedIdentity":
            return {"principalId": f"<principalId of {args.args.get('resourceName')}>"}
        if args.token == "azure-native:compute:getVirtualMachine":
            return {"identity": {"type": "SystemAssigned", "principalId": f"<principalId of {args.args.get('vmName')}>"}}
        return {}


def _physical_name(inputs: dict[str, Any], logical_name: str) -> Any:
    for key in ("vaultName", "policyName", "protectedItemName", "vmExtensionName", "securityRuleName",
                "actionGroupName", "alertProcessingRuleName", "name"):
        if key in inputs:
            return inputs[key]
    return logical_name


class _RecordingMonitor(mocks.MockMonitor):
    """MockMonitor drops parent, dependencies and options before calling the mocks; keep them."""

    def __init__(self) -> None:
        super().__init__(_OfflineMocks())
        self.registrations: list[Registration] = []

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(Registration(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent,
                custom=request.custom,
                inputs=_whole_numbers(rpc.deserialize_properties(request.object, keep_unknowns=True)),
                dependencies=list(request.dependencies),
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                delete_before_replace=bool(request.deleteBeforeReplace),
                ignore_changes=list(request.ignoreChanges),
                aliases=_alias_specs(request),
            ))
        return response


def _alias_specs(request: Any) -> list[dict[str, Any]]:
    specs = []
    for alias in request.aliases:
        spec = ({"urn": alias.urn} if alias.urn else
                {key: getattr(alias.spec, key) for key in ("name", "type", "stack", "project", "parentUrn", "noParent")
                 if getattr(alias.spec, key)})
        if not is_api_version_alias(spec, request.type):
            specs.append(spec)
    return specs


def engine_urns_of(run: PlanRun) -> dict[str, tuple[str, list[str]]]:
    """Mock URN -> (the engine's URN, the old URNs the resource's aliases claim)."""
    nodes = [Node(r.urn, r.type, r.name, r.parent, tuple(r.aliases)) for r in run.resources]
    return engine_urns(nodes, run.stack, PROJECT)


def run_program(stack: str, config: StackConfig, program: Path) -> PlanRun:
    """Run `program` as `pulumi up` would, against mocks; raises what the program raises."""
    monitor = _RecordingMonitor()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    settings.ROOT.set(None)  # a fresh root Stack per run: the SDK keeps it process-global
    pulumi.runtime.set_all_config(config.values, config.secret_keys)
    pulumi.runtime.set_mocks(_OfflineMocks(), project=PROJECT, stack=stack, preview=False, monitor=monitor)
    outputs: dict[str, Any] = {}

    @pulumi.runtime.test
    def run() -> pulumi.Output:
        with warnings.catch_warnings():
            # pulumi_command.remote warns that its CopyFile resource is deprecated; we do not use it.
            warnings.simplefilter("ignore", DeprecationWarning)
            runpy.run_path(str(program), run_name="__main__")
        stack_outputs = settings.get_root_resource().outputs  # type: ignore[union-attr]
        return pulumi.Output.all(**{name: _unwrap(value) for name, value in stack_outputs.items()}).apply(outputs.update)

    try:
        run()
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    # Registration order depends on asyncio scheduling; sort so two plans of one stack diff cleanly.
    return PlanRun(stack, sorted(monitor.registrations, key=lambda r: (r.type, r.name)), outputs)


def _whole_numbers(value: Any) -> Any:
    """The wire format carries every number as a float; show 14, not 14.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return value


def _unwrap(value: Any) -> pulumi.Output:
    """Resolve an exported value, masking secret parts."""
    output = pulumi.Output.from_input(value)
    return pulumi.Output.all(output, output.is_secret()).apply(lambda pair: SECRET_MASK if pair[1] else pair[0])


def mask_secrets(value: Any) -> Any:
    """Recorded inputs with every secret replaced by a mask (they arrive wrapped by the SDK)."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return SECRET_MASK
        return {key: mask_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    if isinstance(value, pulumi.FileArchive):
        return f"FileArchive({Path(value.path).name}/)"
    return value
