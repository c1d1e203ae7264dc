"""Offline check of azure-native resource inputs against Azure REST API specs (Swagger 2.0).

Input is what a Pulumi mock records: the type token (``args.typ``) and the camelCase inputs
(``args.inputs``). The inputs are mapped to the ARM PUT request (path parameters + body, with
``x-ms-client-flatten`` properties moved back under their parent) and checked against the spec
of the API version azure-native 3.29.0 uses. See README.md for what is and is not checked.

    problems = validate("azure-native:recoveryservices:Vault", inputs)
"""
from __future__ import annotations

import difflib
import json
import posixpath
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SPEC_ROOT = Path(__file__).resolve().parent / "specification"

# Pulumi's wire marker for a secret value: {SECRET_SIG: SECRET_VALUE, "value": v}.
SECRET_SIG = "4dabf18193072939515e22adb298388d"

# Body properties azure-native fills in itself when omitted (from the resource group).
PROVIDER_FILLED = frozenset({"location"})

# Network sub-objects a request can reach but that were deliberately not extracted (see the
# "lean" notes in /work/shared/reference/arm-specs/README.md): checked as free-form objects.
OPAQUE = frozenset({
    "ApplicationGatewayIPConfiguration", "ApplicationGatewayBackendAddressPool", "BackendAddressPool",
    "InboundNatRule", "VirtualNetworkTap", "NatGateway", "PrivateLinkService",
})


@dataclass(frozen=True)
class Resource:
    spec: str  # file below specification/, same path as upstream
    put_path: str  # key of the PUT operation in the spec's `paths`
    api_version: str


@dataclass(frozen=True)
class Problem:
    path: str  # ARM request path: a path parameter name or a dotted body path
    message: str
    severity: str = "error"  # "warning": ARM may accept it (modelAsString enums)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


_VAULTS = "recoveryservices/resource-manager/Microsoft.RecoveryServices/stable/2024-10-01/vaults.json"
_BMS = "recoveryservicesbackup/resource-manager/Microsoft.RecoveryServices/stable/2024-10-01/bms.json"
_VM = "compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-11-01/virtualMachine.json"
_RUN_COMMAND = "compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-11-01/runCommand.json"
_NSG = "network/resource-manager/Microsoft.Network/stable/2024-05-01/networkSecurityGroup.json"
_DIAG = "monitor/resource-manager/Microsoft.Insights/preview/2021-05-01-preview/diagnosticsSettings_API.json"
_AG = "monitor/resource-manager/Microsoft.Insights/preview/2024-10-01-preview/actionGroups_API.json"
_APR = "alertsmanagement/resource-manager/Microsoft.AlertsManagement/stable/2021-08-08/AlertProcessingRules.json"
_SQR = "monitor/resource-manager/Microsoft.Insights/preview/2025-01-01-preview/scheduledQueryRule_API.json"
_DCR = "monitor/resource-manager/Microsoft.Insights/stable/2022-06-01/dataCollectionRules_API.json"
_DCRA = "monitor/resource-manager/Microsoft.Insights/stable/2022-06-01/dataCollectionRuleAssociations_API.json"
_QP = "operationalinsights/resource-manager/Microsoft.OperationalInsights/stable/2023-09-01/QueryPacks.json"
_QPQ = "operationalinsights/resource-manager/Microsoft.OperationalInsights/stable/2023-09-01/QueryPackQueries.json"
_LOCKS = "resources/resource-manager/Microsoft.Authorization/stable/2020-05-01/locks.json"
_VNET = "network/resource-manager/Microsoft.Network/stable/2024-05-01/virtualNetwork.json"
_STORAGE = "storage/resource-manager/Microsoft.Storage/stable/2024-01-01/storage.json"
_ROLES = "authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/authorization-RoleAssignmentsCalls.json"
_ROLE_DEFINITIONS = ("authorization/resource-manager/Microsoft.Authorization/preview/2022-05-01-preview/"
                     "authorization-RoleDefinitionsCalls.json")
_MSI = "msi/resource-manager/Microsoft.ManagedIdentity/stable/2023-01-31/ManagedIdentity.json"
_GROUPS = "resources/resource-manager/Microsoft.Resources/stable/2024-03-01/resources.json"
_RG = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers"

RESOURCES = {
    "azure-native:recoveryservices:Vault": Resource(
        _VAULTS, f"{_RG}/Microsoft.RecoveryServices/vaults/{{vaultName}}", "2024-10-01"),
    "azure-native:recoveryservices:ProtectionPolicy": Resource(
        _BMS, f"{_RG}/Microsoft.RecoveryServices/vaults/{{vaultName}}/backupPolicies/{{policyName}}",
        "2024-10-01"),
    "azure-native:recoveryservices:ProtectedItem": Resource(
        _BMS, f"{_RG}/Microsoft.RecoveryServices/vaults/{{vaultName}}/backupFabrics/{{fabricName}}"
        "/protectionContainers/{containerName}/protectedItems/{protectedItemName}", "2024-10-01"),
    "azure-native:recoveryservices:ResourceGuardProxy": Resource(
        _BMS, f"{_RG}/Microsoft.RecoveryServices/vaults/{{vaultName}}/backupResourceGuardProxies"
        "/{resourceGuardProxyName}", "2024-10-01"),
    "azure-native:authorization:ManagementLockByScope": Resource(
        _LOCKS, "/{scope}/providers/Microsoft.Authorization/locks/{lockName}", "2020-05-01"),
    "azure-native:compute:VirtualMachineExtension": Resource(
        _VM, f"{_RG}/Microsoft.Compute/virtualMachines/{{vmName}}/extensions/{{vmExtensionName}}",
        "2024-11-01"),
    "azure-native:compute:VirtualMachineRunCommandByVirtualMachine": Resource(
        _RUN_COMMAND, f"{_RG}/Microsoft.Compute/virtualMachines/{{vmName}}/runCommands/{{runCommandName}}",
        "2024-11-01"),
    "azure-native:network:SecurityRule": Resource(
        _NSG, f"{_RG}/Microsoft.Network/networkSecurityGroups/{{networkSecurityGroupName}}"
        "/securityRules/{securityRuleName}", "2024-05-01"),
    "azure-native:network:NetworkSecurityGroup": Resource(
        _NSG, f"{_RG}/Microsoft.Network/networkSecurityGroups/{{networkSecurityGroupName}}", "2024-05-01"),
    "azure-native:network:VirtualNetwork": Resource(
        _VNET, f"{_RG}/Microsoft.Network/virtualNetworks/{{virtualNetworkName}}", "2024-05-01"),
    "azure-native:network:Subnet": Resource(
        _VNET, f"{_RG}/Microsoft.Network/virtualNetworks/{{virtualNetworkName}}/subnets/{{subnetName}}",
        "2024-05-01"),
    "azure-native:storage:StorageAccount": Resource(
        _STORAGE, f"{_RG}/Microsoft.Storage/storageAccounts/{{accountName}}", "2024-01-01"),
    "azure-native:authorization:RoleAssignment": Resource(
        _ROLES, "/{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}",
        "2022-04-01"),
    "azure-native:authorization:RoleDefinition": Resource(
        _ROLE_DEFINITIONS, "/{scope}/providers/Microsoft.Authorization/roleDefinitions/{roleDefinitionId}",
        "2022-05-01-preview"),
    "azure-native:managedidentity:UserAssignedIdentity": Resource(
        _MSI, f"{_RG}/Microsoft.ManagedIdentity/userAssignedIdentities/{{resourceName}}", "2023-01-31"),
    "azure-native:resources:ResourceGroup": Resource(
        _GROUPS, "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}", "2024-03-01"),
    "azure-native:monitor:DiagnosticSetting": Resource(
        _DIAG, "/{resourceUri}/providers/Microsoft.Insights/diagnosticSettings/{name}",
        "2021-05-01-preview"),
    "azure-native:monitor:ActionGroup": Resource(
        _AG, f"{_RG}/Microsoft.Insights/actionGroups/{{actionGroupName}}", "2024-10-01-preview"),
    "azure-native:alertsmanagement:AlertProcessingRuleByName": Resource(
        _APR, f"{_RG}/Microsoft.AlertsManagement/actionRules/{{alertProcessingRuleName}}",
        "2021-08-08"),
    "azure-native:monitor:ScheduledQueryRule": Resource(
        _SQR, f"{_RG}/Microsoft.Insights/scheduledQueryRules/{{ruleName}}", "2025-01-01-preview"),
    "azure-native:monitor:DataCollectionRule": Resource(
        _DCR, f"{_RG}/Microsoft.Insights/dataCollectionRules/{{dataCollectionRuleName}}", "2022-06-01"),
    "azure-native:monitor:DataCollectionRuleAssociation": Resource(
        _DCRA, "/{resourceUri}/providers/Microsoft.Insights/dataCollectionRuleAssociations/{associationName}",
        "2022-06-01"),
    "azure-native:operationalinsights:QueryPack": Resource(
        _QP, f"{_RG}/Microsoft.OperationalInsights/queryPacks/{{queryPackName}}", "2023-09-01"),
    "azure-native:operationalinsights:Query": Resource(
        _QPQ, f"{_RG}/Microsoft.OperationalInsights/queryPacks/{{queryPackName}}/queries/{{id}}", "2023-09-01"),
}

# Unversioned aliases declared by the 3.29.0 resource classes.
ALIASES = {
    "azure-native:insights:DiagnosticSetting": "azure-native:monitor:DiagnosticSetting",
    "azure-native:insights:ActionGroup": "azure-native:monitor:ActionGroup",
    "azure-native:insights:ScheduledQueryRule": "azure-native:monitor:ScheduledQueryRule",
    "azure-native:insights:DataCollectionRule": "azure-native:monitor:DataCollectionRule",
    "azure-native:insights:DataCollectionRuleAssociation": "azure-native:monitor:DataCollectionRuleAssociation",
    "azure-native:alertsmanagement:ActionRuleByName":
        "azure-native:alertsmanagement:AlertProcessingRuleByName",
}


def is_supported(type_token: str) -> bool:
    return ALIASES.get(type_token, type_token) in RESOURCES


def validate(type_token: str, inputs: dict) -> list[Problem]:
    """Problems in `inputs`: errors ARM would reject, warnings it may accept (see Problem)."""
    resource = _resource(type_token)
    path_values, body = to_arm_request(type_token, inputs)
    problems: list[Problem] = []
    _check_path_params(resource, path_values, problems)
    doc, schema, _ = _deref(resource.spec, _body_param(resource)["schema"])
    _check_object(body, doc, schema, "", problems, skip_required=PROVIDER_FILLED)
    return problems


def to_arm_request(type_token: str, inputs: dict) -> tuple[dict, dict]:
    """Split recorded inputs into (path parameters, ARM request body)."""
    resource = _resource(type_token)
    inputs = _plain(inputs)
    names = {param["name"] for _, param in _params(resource) if param["in"] == "path"}
    path_values = {k: v for k, v in inputs.items() if k in names}
    body = {k: v for k, v in inputs.items() if k not in names}
    return path_values, _to_arm(body, resource.spec, _body_param(resource)["schema"])


def unresolved_refs(type_token: str) -> list[str]:
    """Every $ref reachable from the PUT parameters (incl. all subtypes) that does not resolve."""
    resource = _resource(type_token)
    return unresolved_from(resource.spec, _put(resource)["parameters"])


def unresolved_from(spec: str, parameters: list) -> list[str]:
    """Every $ref reachable from `parameters` of `spec` (incl. all subtypes) that does not resolve."""
    missing: list[str] = []
    seen: set[tuple[str, str]] = set()

    def walk(doc: str, node) -> None:
        if isinstance(node, list):
            for item in node:
                walk(doc, item)
            return
        if not isinstance(node, dict):
            return
        if node.get("readOnly") is True:
            return  # never sent, so lean extracts leave what it refers to out
        for key, value in node.items():
            if key != "$ref":
                walk(doc, value)
        if "$ref" not in node or (doc, node["$ref"]) in seen or _opaque(node["$ref"]):
            return
        seen.add((doc, node["$ref"]))
        try:
            target_doc, target, name = _lookup(doc, node["$ref"])
            subtypes = _subtypes(target_doc, name) if "discriminator" in target else {}
        except (KeyError, OSError):
            missing.append(f"{doc}: {node['$ref']}")
            return
        walk(target_doc, target)
        for sub in subtypes.values():
            walk(target_doc, {"$ref": f"#/definitions/{sub}"})

    walk(spec, parameters)
    return missing


# --- spec access -------------------------------------------------------------------------


def _resource(type_token: str) -> Resource:
    if not is_supported(type_token):
        raise ValueError(f"unsupported type token: {type_token}")
    return RESOURCES[ALIASES.get(type_token, type_token)]


@lru_cache(maxsize=None)
def _load(doc: str) -> dict:
    return json.loads((SPEC_ROOT / doc).read_text(encoding="utf-8"))


def _lookup(doc: str, ref: str) -> tuple[str, dict, str]:
    """Resolve one $ref relative to `doc`: (document, target, last pointer segment)."""
    file_part, _, pointer = ref.partition("#")
    if file_part:
        doc = posixpath.normpath(posixpath.join(posixpath.dirname(doc), file_part))
    node = _load(doc)
    parts = pointer.strip("/").split("/")
    for part in parts:
        node = node[part]
    return doc, node, parts[-1]


def _deref(doc: str, schema: dict) -> tuple[str, dict, str | None]:
    """Follow a $ref chain: (document, schema, definition name or None for inline schemas)."""
    name = None
    while "$ref" in schema:
        if _opaque(schema["$ref"]):
            return doc, {"type": "object"}, None
        doc, schema, name = _lookup(doc, schema["$ref"])
    return doc, schema, name


def _opaque(ref: str) -> bool:
    return ref.rpartition("/")[2] in OPAQUE


def _put(resource: Resource) -> dict:
    return _load(resource.spec)["paths"][resource.put_path]["put"]


def _params(resource: Resource) -> list[tuple[str, dict]]:
    return [_deref(resource.spec, param)[:2] for param in _put(resource)["parameters"]]


def _body_param(resource: Resource) -> dict:
    return next(param for _, param in _params(resource) if param["in"] == "body")


@dataclass(frozen=True)
class _View:
    """An object schema with its allOf chain merged."""

    props: dict  # name -> (document, property schema)
    required: frozenset
    discriminator: str | None
    additional: tuple | None  # (document, schema) of additionalProperties


def _view(doc: str, schema: dict) -> _View:
    doc, schema, _ = _deref(doc, schema)
    props: dict = {}
    required = set(schema.get("required", ()))
    discriminator = schema.get("discriminator")
    for parent in schema.get("allOf", ()):
        inherited = _view(doc, parent)
        props.update(inherited.props)
        required |= inherited.required
        discriminator = discriminator or inherited.discriminator
    props.update({name: (doc, prop) for name, prop in schema.get("properties", {}).items()})
    extra = schema.get("additionalProperties")
    return _View(props, frozenset(required), discriminator,
                 (doc, extra) if isinstance(extra, dict) else None)


def _type(doc: str, schema: dict) -> str | None:
    """The JSON type of a schema; None means any value is accepted."""
    doc, schema, _ = _deref(doc, schema)
    if "type" in schema:
        return schema["type"]
    return "object" if "properties" in schema or "allOf" in schema else None


def _read_only(doc: str, schema: dict) -> bool:
    return bool(schema.get("readOnly") or _deref(doc, schema)[1].get("readOnly"))


def _ancestors(doc: str, name: str) -> set[tuple[str, str]]:
    found = set()
    for parent in _load(doc)["definitions"][name].get("allOf", ()):
        if "$ref" in parent:
            parent_doc, _, parent_name = _lookup(doc, parent["$ref"])
            found |= {(parent_doc, parent_name)} | _ancestors(parent_doc, parent_name)
    return found


@lru_cache(maxsize=None)
def _subtypes(doc: str, base: str) -> dict[str, str]:
    """Discriminator value -> definition name, for `base` and everything deriving from it."""
    definitions = _load(doc)["definitions"]
    return {
        definitions[name].get("x-ms-discriminator-value", name): name
        for name in definitions
        if name == base or (doc, base) in _ancestors(doc, name)
    }


def _select(doc: str, schema: dict, value, path: str = "") -> tuple[str, dict, Problem | None]:
    """Pick the subtype named by the discriminator in `value`: (document, schema, problem)."""
    doc, schema, name = _deref(doc, schema)
    field = _view(doc, schema).discriminator
    if not field or name is None or not isinstance(value, dict) or field not in value:
        return doc, schema, None
    subtypes = _subtypes(doc, name)
    chosen = subtypes.get(value[field])
    if chosen is None:
        return doc, schema, Problem(_join(path, field), f"{value[field]!r} selects no subtype of "
                                    f"{name}; expected one of [{', '.join(subtypes)}]")
    return doc, _load(doc)["definitions"][chosen], None


# --- inputs -> ARM request -----------------------------------------------------------------


def _plain(value):
    """Unwrap Pulumi secrets and drop None values."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) is not None:
            return _plain(value.get("value"))
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _to_arm(value, doc: str, schema: dict):
    """Undo azure-native's input shaping: flattened properties, userAssignedIdentities lists."""
    doc, schema, _ = _select(doc, schema, value)
    if isinstance(value, list) and _type(doc, schema) == "array":
        return [_to_arm(item, doc, schema["items"]) for item in value]
    if not isinstance(value, dict):
        return value
    view = _view(doc, schema)
    nested: dict = {}
    for key, item in value.items():
        target = _flatten_target(view, key)
        if target:
            nested.setdefault(target, {})[key] = item
        elif key == "userAssignedIdentities" and isinstance(item, list):
            nested[key] = {identity: {} for identity in item}  # azure-native takes a list of ids
        else:
            nested[key] = item
    # azure-native sends a required flattened container even when nothing goes into it
    # (QueryPack `properties`; pulumi/pulumi-azure-native#2856).
    for name in view.required - nested.keys():
        if view.props.get(name, (None, {}))[1].get("x-ms-client-flatten"):
            nested[name] = {}
    result = {}
    renamed = _client_names(view)
    for key, item in nested.items():
        key = key if key in view.props else renamed.get(key, key)
        child = view.props.get(key, view.additional)
        # Read-only values are reported as such, not reshaped (lean extracts omit their schemas).
        result[key] = _to_arm(item, *child) if child and not _read_only(*child) else item
    return result


def _client_names(view: _View) -> dict[str, str]:
    """azure-native input name -> ARM name, for properties renamed by `x-ms-client-name`
    (StorageAccount `networkRuleSet` is ARM `networkAcls`)."""
    return {
        prop["x-ms-client-name"][:1].lower() + prop["x-ms-client-name"][1:]: name
        for name, (_, prop) in view.props.items() if "x-ms-client-name" in prop
    }


def _flatten_target(view: _View, key: str) -> str | None:
    """The x-ms-client-flatten property that `key` belongs under in ARM, if any.

    A key that is also a writable top-level property stays on top (SecurityRule `name`); a
    read-only top-level one yields to the flattened property (VirtualMachineExtension `type`).
    """
    own = view.props.get(key)
    if own and not _read_only(*own):
        return None
    for name, (doc, prop) in view.props.items():
        if prop.get("x-ms-client-flatten"):
            inner = _view(doc, prop)
            if key in inner.props or key in _client_names(inner):
                return name
    return None


# --- checks --------------------------------------------------------------------------------


def _check_path_params(resource: Resource, values: dict, out: list[Problem]) -> None:
    # The last path segment is the resource's own name: azure-native auto-names it if omitted.
    own_name = re.findall(r"{(\w+)}", resource.put_path)[-1]
    for doc, param in _params(resource):
        name = param["name"]
        if param["in"] != "path" or name == "subscriptionId":  # subscription: provider config
            continue
        if name in values:
            schema = {k: v for k, v in param.items() if k != "required"}  # a bool here
            _check(values[name], doc, schema, name, out)
        elif param.get("required") and name != own_name:
            out.append(Problem(name, "required path parameter is missing"))


def _check(value, doc: str, schema: dict, path: str, out: list[Problem]) -> None:
    doc, schema, problem = _select(doc, schema, value, path)
    if problem:
        out.append(problem)
    kind = _type(doc, schema)
    if kind and not _has_type(value, kind):
        out.append(Problem(path, f"expected {kind}, got {type(value).__name__} {value!r}"))
        return
    if "enum" in schema:
        _check_enum(value, schema, path, out)
    _check_limits(value, schema, path, out)
    if kind == "array":
        for index, item in enumerate(value):
            _check(item, doc, schema["items"], f"{path}[{index}]", out)
    elif kind == "object":
        _check_object(value, doc, schema, path, out)


def _check_object(value: dict, doc: str, schema: dict, path: str, out: list[Problem],
                  skip_required: frozenset = frozenset()) -> None:
    view = _view(doc, schema)
    for key, item in value.items():
        where = _join(path, key)
        if key in view.props:
            if _read_only(*view.props[key]):
                out.append(Problem(where, "read-only property is set"))
            else:
                _check(item, *view.props[key], where, out)
        elif view.additional:
            _check(item, *view.additional, where, out)
        elif view.props:  # an object schema without properties is free-form
            out.append(Problem(where, "unknown property" + _suggest(key, view)))
    for key in sorted(view.required - value.keys() - skip_required):
        out.append(Problem(_join(path, key), "required property is missing"))


def _has_type(value, kind: str) -> bool:
    if isinstance(value, bool):
        return kind == "boolean"
    if kind == "integer":  # Pulumi sends every number as a float
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    python_types = {"number": (int, float), "string": str, "array": list, "object": dict, "boolean": bool}
    return isinstance(value, python_types.get(kind, object))


def _check_enum(value, schema: dict, path: str, out: list[Problem]) -> None:
    if value in schema["enum"]:
        return
    message = f"{value!r} not in [{', '.join(map(str, schema['enum']))}]"
    if schema.get("x-ms-enum", {}).get("modelAsString"):
        out.append(Problem(path, message + " (modelAsString: ARM may accept it)", "warning"))
    else:
        out.append(Problem(path, message))


def _check_limits(value, schema: dict, path: str, out: list[Problem]) -> None:
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            out.append(Problem(path, f"{value!r} is shorter than minLength {schema['minLength']}"))
        if len(value) > schema.get("maxLength", len(value)):
            out.append(Problem(path, f"{value!r} is longer than maxLength {schema['maxLength']}"))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            out.append(Problem(path, f"{value!r} does not match pattern {schema['pattern']}"))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < schema.get("minimum", value):
            out.append(Problem(path, f"{value!r} is below minimum {schema['minimum']}"))
        if value > schema.get("maximum", value):
            out.append(Problem(path, f"{value!r} is above maximum {schema['maximum']}"))


def _join(path: str, key: str) -> str:
    if not re.fullmatch(r"[A-Za-z_$][\w$-]*", key):
        key = f"[{key!r}]"
        return path + key if path else key
    return f"{path}.{key}" if path else key


def _suggest(key: str, view: _View) -> str:
    known = list(view.props)
    for doc, prop in view.props.values():
        if prop.get("x-ms-client-flatten"):
            known += _view(doc, prop).props
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.8)
    return f" (did you mean {close[0]!r}?)" if close else ""
