"""Request-level check: one HTTP request (method, path, query, JSON body) against the spec extracts.

Finds the operation whose path template matches, checks the api-version is the spec's, the path
and query parameters, and the body against the operation's body parameter schema with the same
validator as `arm_validate.validate` (readOnly set, unknown properties, enums, required, types,
discriminators). Used by the restore drill's fake Azure (tests/doubles/fake_azure.py) on every
request. See README.md "Request check".

    problems = check_request("PUT", "/subscriptions/.../virtualMachines/vm1", {"api-version": "2024-11-01"}, body)
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

import arm_validate as av

# Spec files whose operations requests are checked against (the restore drill's operations).
REQUEST_SPECS = (
    "recoveryservicesbackup/resource-manager/Microsoft.RecoveryServices/stable/2024-10-01/bms.json",
    "compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-11-01/virtualMachine.json",
    "compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-11-01/runCommand.json",
    "compute/resource-manager/Microsoft.Compute/DiskRP/stable/2024-03-02/disk.json",
    "network/resource-manager/Microsoft.Network/stable/2024-05-01/networkInterface.json",
)

# Schemas deliberately left out of the partial extracts (see README "Request check"): a request
# that sends one of these is reported, not waved through.
NOT_EXTRACTED = frozenset({
    # bms.json: RestoreRequest subtypes other than IaasVMRestoreRequest
    "IaasVMRestoreWithRehydrationRequest", "AzureFileShareRestoreRequest", "AzureWorkloadRestoreRequest",
    # VirtualMachines_CreateOrUpdate: what the drill does not send
    "Plan", "VMSizeProperties", "ScheduledEventsPolicy", "ImageReference", "DiskEncryptionSettings",
    "VirtualHardDisk", "DiffDiskSettings", "VMDiskSecurityProfile", "ApiEntityReference", "DiskControllerType",
    "AdditionalCapabilities", "OSProfile", "VirtualMachineNetworkInterfaceConfiguration", "EncryptionIdentity",
    "ProxyAgentSettings", "priority", "evictionPolicy", "BillingProfile", "ScheduledEventsProfile",
    "CapacityReservationProfile", "ApplicationProfile", "VirtualMachineIdentity", "Placement",
    # Disks_Update: diskRPCommon.json definitions (the drill sends only tags)
    "EncryptionSettingsCollection", "Encryption", "NetworkAccessPolicy", "PurchasePlan", "SupportedCapabilities",
    "PublicNetworkAccess", "DataAccessAuthMode", "DiskSku",
})


@dataclass(frozen=True)
class Operation:
    spec: str
    method: str  # upper case
    template: str  # key in the spec's `paths`
    api_version: str  # the spec's folder name, e.g. 2024-11-01
    node: dict  # the operation object

    def params(self) -> list[tuple[str, dict]]:
        return [av._deref(self.spec, param)[:2] for param in self.node.get("parameters", ())]


@lru_cache(maxsize=None)
def operations() -> tuple[Operation, ...]:
    found = []
    for spec in REQUEST_SPECS:
        version = re.search(r"/(\d{4}-\d{2}-\d{2}(?:-preview)?)/", spec).group(1)
        for template, verbs in av._load(spec)["paths"].items():
            found += [Operation(spec, verb.upper(), template, version, node) for verb, node in verbs.items()]
    return tuple(found)


def _pattern(template: str) -> re.Pattern:
    parts = re.split(r"({\w+})", template)
    regex = "".join(f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") else re.escape(part) for part in parts)
    return re.compile(regex, re.IGNORECASE)  # ARM paths are case-insensitive


def find(method: str, path: str) -> tuple[Operation, dict] | tuple[None, None]:
    """The operation for `method path` and its path parameter values (URL-decoded)."""
    for operation in operations():
        match = _pattern(operation.template).fullmatch(path) if operation.method == method.upper() else None
        if match:
            return operation, {k: unquote(v) for k, v in match.groupdict().items()}
    return None, None


def check_request(method: str, path: str, query: dict, body) -> list[av.Problem]:
    """Problems of one request; `query` maps names to single values, `body` is parsed JSON or None."""
    operation, path_values = find(method, path)
    if operation is None:
        return [av.Problem("path", f"no operation {method.upper()} {path} in the spec extracts")]
    out: list[av.Problem] = []
    if query.get("api-version") != operation.api_version:
        out.append(av.Problem("api-version", f"{query.get('api-version')!r}, the spec is "
                                             f"{operation.api_version} ({operation.node.get('operationId')})"))
    try:
        _check_params(operation, {"path": path_values, "query": query}, out)
        _check_body(operation, body, out)
    except KeyError as missing:  # a schema the partial extract does not hold
        out.append(av.Problem("body", f"schema not in the extract: {missing}; extract it (README)"))
    return out


def _check_params(operation: Operation, values: dict, out: list[av.Problem]) -> None:
    declared = {("query", "api-version")}
    for doc, param in operation.params():
        where = param["in"]
        declared.add((where, param["name"]))
        if where not in values or param["name"] == "api-version":
            continue
        if param["name"] in values[where]:
            schema = {k: v for k, v in param.items() if k != "required"}  # a bool here
            av._check(values[where][param["name"]], doc, schema, param["name"], out)
        elif param.get("required"):
            out.append(av.Problem(param["name"], f"required {where} parameter is missing"))
    for name in values["query"]:
        if ("query", name) not in declared:
            out.append(av.Problem(name, "query parameter not declared by the operation"))


def _check_body(operation: Operation, body, out: list[av.Problem]) -> None:
    param = next(((doc, p) for doc, p in operation.params() if p["in"] == "body"), None)
    if param is None:
        if body is not None:
            out.append(av.Problem("body", "the operation takes no body"))
        return
    doc, declared = param
    if body is None:
        if declared.get("required"):
            out.append(av.Problem("body", "required body is missing"))
        return
    av._check(body, doc, declared["schema"], "", out)
    out[:] = [_not_extracted(problem) for problem in out]


def _not_extracted(problem: av.Problem) -> av.Problem:
    """A discriminator value naming a subtype left out of the extract says so."""
    named = re.match(r"'(\w+)' selects no subtype", problem.message)
    if named and named.group(1) in NOT_EXTRACTED:
        return av.Problem(problem.path, f"subtype {named.group(1)} is not in the extract; extract it (README)")
    return problem


def unresolved(operation: Operation) -> list[str]:
    """$refs reachable from the operation's parameters that do not resolve (see README)."""
    return av.unresolved_from(operation.spec, operation.node.get("parameters", []))
