"""An in-process Azure Resource Manager for the drill's SDK clients (no network).

Mounted as a requests adapter under azure-core's own RequestsTransport, so the real SDK clients
serialise requests, run their long-running-operation pollers and parse responses. Response shapes
follow the REST specs' x-ms-examples (azure-rest-api-specs): RecoveryPoints_List, Restores_Trigger
(202 + Location/Azure-AsyncOperation), BackupOperationStatuses_Get, JobDetails_Get,
NetworkInterfaces_CreateOrUpdate, VirtualMachines_CreateOrUpdate/InstanceView/Delete,
VirtualMachineRunCommands_CreateOrUpdate/GetByVirtualMachine, Disks_ListByResourceGroup/Update/Delete.

State machines (advanced by the client's polls): restore job InProgress -> Completed|Failed; VM agent
NotReady -> Ready (or never); run command Running -> Succeeded|Failed|TimedOut.
Every request is recorded and checked against the ARM spec extracts (tools/arm-validate/arm_requests.py:
operation found by path template, api-version, path/query parameters, body schema); an error is a
violation. Warnings (values outside a modelAsString enum, e.g. a VM size newer than the spec's list)
are kept in `spec_warnings`. The route table only dispatches to the fake's handlers.
"""

from __future__ import annotations

import io
import json
import re
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from requests.adapters import BaseAdapter

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "arm-validate"))
from arm_requests import check_request  # noqa: E402

HOST = "https://management.azure.com"
SUB = "11111111-1111-1111-1111-111111111111"
_RG = r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers"
_ITEM = (_RG + r"/Microsoft\.RecoveryServices/vaults/(?P<vault>[^/]+)/backupFabrics/Azure"
         r"/protectionContainers/(?P<container>[^/]+)/protectedItems/(?P<item>[^/]+)")
# (name, method, path regex): dispatch only; arm_requests checks path and api-version against the specs
ROUTES = [
    ("recovery_points", "GET", _ITEM + r"/recoveryPoints"),
    ("restore", "POST", _ITEM + r"/recoveryPoints/(?P<rp>[^/]+)/restore"),
    ("operation_status", "GET", _RG + r"/Microsoft\.RecoveryServices/vaults/(?P<vault>[^/]+)/backupOperations/(?P<op>[^/]+)"),
    ("job", "GET", _RG + r"/Microsoft\.RecoveryServices/vaults/(?P<vault>[^/]+)/backupJobs/(?P<job>[^/]+)"),
    ("disks", "GET", _RG + r"/Microsoft\.Compute/disks"),
    ("disk_update", "PATCH", _RG + r"/Microsoft\.Compute/disks/(?P<name>[^/]+)"),
    ("disk_get", "GET", _RG + r"/Microsoft\.Compute/disks/(?P<name>[^/]+)"),
    ("disk_delete", "DELETE", _RG + r"/Microsoft\.Compute/disks/(?P<name>[^/]+)"),
    ("nics", "GET", _RG + r"/Microsoft\.Network/networkInterfaces"),
    ("nic_put", "PUT", _RG + r"/Microsoft\.Network/networkInterfaces/(?P<name>[^/]+)"),
    ("nic_get", "GET", _RG + r"/Microsoft\.Network/networkInterfaces/(?P<name>[^/]+)"),
    ("nic_delete", "DELETE", _RG + r"/Microsoft\.Network/networkInterfaces/(?P<name>[^/]+)"),
    ("vms", "GET", _RG + r"/Microsoft\.Compute/virtualMachines"),
    ("vm_view", "GET", _RG + r"/Microsoft\.Compute/virtualMachines/(?P<name>[^/]+)/instanceView"),
    ("rc_put", "PUT", _RG + r"/Microsoft\.Compute/virtualMachines/(?P<name>[^/]+)/runCommands/(?P<rc>[^/]+)"),
    ("rc_get", "GET", _RG + r"/Microsoft\.Compute/virtualMachines/(?P<name>[^/]+)/runCommands/(?P<rc>[^/]+)"),
    ("vm_put", "PUT", _RG + r"/Microsoft\.Compute/virtualMachines/(?P<name>[^/]+)"),
    ("vm_get", "GET", _RG + r"/Microsoft\.Compute/virtualMachines/(?P<name>[^/]+)"),
    ("vm_delete", "DELETE", _RG + r"/Microsoft\.Compute/virtualMachines/(?P<name>[^/]+)"),
    ("async_op", "GET", r"/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.(Compute|Network)/locations/(?P<loc>[^/]+)/operations/(?P<op>[^/]+)"),
]


@dataclass
class Scenario:
    """What the fake Azure does; each field is one of the outcomes the tests cover."""

    points: list[dict] = field(default_factory=list)  # [{"name", "time", "type"}]
    restore_polls: int = 2  # job polls that answer InProgress
    restore_outcome: str = "Completed"  # Completed | Failed
    data_disks: int = 1
    agent_ready_after: int | None = 1  # instanceView polls before Ready; None: never
    run_command_polls: int = 1  # polls that answer Running
    run_command_state: str = "Succeeded"  # Succeeded | Failed | TimedOut
    run_command_output: str = ""
    fail_deletes: set[str] = field(default_factory=set)  # kinds (vm, nic, disk) whose DELETE fails
    leftovers: list[dict] = field(default_factory=list)  # pre-existing run resources
    restore_refused: str | None = None  # error code of a 403 answer to the RestoreDisks POST


@dataclass
class Recorded:
    method: str
    path: str
    api_version: str | None
    body: object
    route: str | None


class FakeAzure(BaseAdapter):
    def __init__(self, scenario: Scenario):
        super().__init__()
        self.s = scenario
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.spec_warnings: list[str] = []
        self.resources: dict[tuple[str, str, str], dict] = {}  # (rg, kind, name) -> resource
        self.restores: dict[str, dict] = {}
        self.polls: dict[str, int] = {}
        self.on_request = None  # test hook: called with each Recorded before it is answered
        for item in scenario.leftovers:
            self.resources[(item["rg"], item["kind"], item["name"])] = self._resource(item["rg"], item["kind"], item["name"], item.get("tags", {}), item.get("os_type"))

    # --- requests adapter ----------------------------------------------------------------------

    def send(self, request, **_kwargs):
        url = urlsplit(request.url)
        query = {name: values[0] for name, values in parse_qs(url.query).items()}
        body = json.loads(request.body) if request.body else None
        route, match = self._route(request.method, url.path)
        rec = Recorded(request.method, url.path, query.get("api-version"), body, route[0] if route else None)
        self.requests.append(rec)
        if not route or route[0] != "async_op":  # async_op: a URL the service returned, not a spec operation
            for problem in check_request(request.method, url.path, query, body):
                where = self.violations if problem.severity == "error" else self.spec_warnings
                where.append(f"{request.method} {url.path}: {problem}")
        if route is None:
            self.violations.append(f"no such operation: {request.method} {url.path}")
            return self._respond(request, 404, {"error": {"code": "NotFound", "message": "no route"}})
        if self.on_request:
            self.on_request(rec)
        status, payload, headers = getattr(self, "_" + route[0])({k: unquote(v) for k, v in match.groupdict().items() if v}, body)
        return self._respond(request, status, payload, headers)

    def close(self):
        pass

    def _route(self, method, path):
        for route in ROUTES:
            match = re.fullmatch(route[2], path)
            if match and route[1] == method:
                return route, match
        return None, None

    def _respond(self, request, status, payload, headers=None):
        response = requests.Response()
        response.status_code = status
        response._content = b"" if payload is None else json.dumps(payload).encode()
        response.raw = io.BytesIO(response._content)
        response.headers.update({"Content-Type": "application/json", **(headers or {})})
        response.request = request
        response.url = request.url
        response.reason = "OK" if status < 400 else "Error"
        return response

    def _poll(self, key: str) -> int:
        self.polls[key] = self.polls.get(key, 0) + 1
        return self.polls[key]

    def _async(self, kind: str, final_status: str = "Succeeded"):
        op = uuid.uuid4().hex
        self.polls[f"op-final-{op}"] = final_status
        loc = f"{HOST}/subscriptions/{SUB}/providers/Microsoft.{kind}/locations/westeurope/operations/{op}?api-version=x"
        return {"Azure-AsyncOperation": loc}

    def _async_op(self, m, _body):
        return 200, {"name": m["op"], "status": self.polls.get(f"op-final-{m['op']}", "Succeeded")}, {}

    def _resource(self, rg, kind, name, tags, os_type=None, props=None):
        types = {"vm": "Microsoft.Compute/virtualMachines", "nic": "Microsoft.Network/networkInterfaces",
                 "disk": "Microsoft.Compute/disks"}
        res = {"id": f"/subscriptions/{SUB}/resourceGroups/{rg}/providers/{types[kind]}/{name}", "name": name,
               "type": types[kind], "location": "westeurope", "tags": tags, "properties": props or {}}
        if kind == "disk":
            res["properties"] = {"provisioningState": "Succeeded", "diskSizeGB": 128, "timeCreated": "2026-11-30T01:00:00Z",
                                 "creationData": {"createOption": "Restore"}, **({"osType": os_type} if os_type else {})}
        return res

    # --- Azure Backup ------------------------------------------------------------------------

    def _recovery_points(self, m, _body):
        items = [{"id": f"{m and ''}/recoveryPoints/{p['name']}", "name": p["name"],
                  "type": "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints",
                  "properties": {"objectType": "IaasVMRecoveryPoint", "recoveryPointType": p["type"],
                                 "recoveryPointTime": p["time"], "osType": "Linux",
                                 "recoveryPointTierDetails": [{"type": t, "status": "Valid"} for t in p.get("tiers", ["InstantRP", "HardenedRP"])],
                                 "recoveryPointDiskConfiguration": {"numberOfDisksIncludedInBackup": 2, "numberOfDisksAttachedToVm": 2,
                                                                    "includedDiskList": [{"lun": 0, "name": "vm-data0"}]}}}
                 for p in self.s.points]
        return 200, {"value": items}, {}

    def _restore(self, m, body):
        if self.s.restore_refused:
            return 403, {"error": {"code": self.s.restore_refused, "message": "The client does not have "
                         "authorization to perform action 'Microsoft.Compute/virtualMachines/write' (fake)"}}, {}
        op = uuid.uuid4().hex
        self.restores[op] = {"job": uuid.uuid4().hex, "vm": m["item"].rsplit(";", 1)[-1], "body": body,
                             "target": (body.get("properties") or {}).get("targetResourceGroupId", "")}
        base = f"{HOST}/subscriptions/{m['sub']}/resourceGroups/{m['rg']}/providers/Microsoft.RecoveryServices/vaults/{m['vault']}"
        return 202, None, {"Location": f"{base}/backupFabrics/Azure/protectionContainers/{m['container']}/protectedItems/{m['item']}/operationResults/{op}?api-version=2024-10-01",
                           "Azure-AsyncOperation": f"{base}/backupOperations/{op}?api-version=2024-10-01",
                           "Retry-After": "60"}

    def _operation_status(self, m, _body):
        restore = self.restores[m["op"]]
        first = self._poll("op-" + m["op"]) == 1
        result = {"id": m["op"], "name": m["op"], "status": "InProgress" if first else "Succeeded",
                  "startTime": "2026-11-30T01:00:00Z"}
        if not first:
            result["properties"] = {"objectType": "OperationStatusJobExtendedInfo", "jobId": restore["job"]}
        return 200, result, {}

    def _job(self, m, _body):
        restore = next(r for r in self.restores.values() if r["job"] == m["job"])
        polls = self._poll("job-" + m["job"])
        status = "InProgress" if polls <= self.s.restore_polls else self.s.restore_outcome
        if status == "Completed" and not restore.get("disks"):
            restore["disks"] = True
            rg = restore["target"].rsplit("/", 1)[-1]
            self.resources[(rg, "disk", f"{restore['vm']}-osdisk-{m['job'][:6]}")] = self._resource(rg, "disk", f"{restore['vm']}-osdisk-{m['job'][:6]}", {}, "Linux")
            for lun in range(self.s.data_disks):
                name = f"vm-data{lun}-{m['job'][:6]}"
                self.resources[(rg, "disk", name)] = self._resource(rg, "disk", name, {})
        props = {"jobType": "AzureIaaSVMJob", "entityFriendlyName": restore["vm"], "backupManagementType": "AzureIaasVM",
                 "operation": "Restore", "status": status, "startTime": "2026-11-30T01:00:00Z", "duration": "PT20M"}
        if status == "Failed":
            props["errorDetails"] = [{"errorCode": "UserErrorRestoreFailed", "errorString": "Restore failed (fake)"}]
        return 200, {"id": f"/backupJobs/{m['job']}", "name": m["job"], "type": "Microsoft.RecoveryServices/vaults/backupJobs",
                     "properties": props}, {}

    # --- compute and network --------------------------------------------------------------------

    def _list(self, rg, kind):
        return 200, {"value": [r for (g, k, _), r in self.resources.items() if g == rg and k == kind]}, {}

    def _disks(self, m, _b):
        return self._list(m["rg"], "disk")

    def _nics(self, m, _b):
        return self._list(m["rg"], "nic")

    def _vms(self, m, _b):
        return self._list(m["rg"], "vm")

    def _get(self, m, kind):
        res = self.resources.get((m["rg"], kind, m["name"]))
        return (200, res, {}) if res else (404, {"error": {"code": "ResourceNotFound", "message": "not found"}}, {})

    def _disk_get(self, m, _b):
        return self._get(m, "disk")

    def _nic_get(self, m, _b):
        return self._get(m, "nic")

    def _vm_get(self, m, _b):
        return self._get(m, "vm")

    def _disk_update(self, m, body):
        res = self.resources[(m["rg"], "disk", m["name"])]
        res["tags"] = body.get("tags", res["tags"])
        return 200, res, {}

    def _nic_put(self, m, body):
        props = {**body.get("properties", {}), "provisioningState": "Succeeded"}
        self.resources[(m["rg"], "nic", m["name"])] = self._resource(m["rg"], "nic", m["name"], body.get("tags", {}), props=props)
        return 201, self.resources[(m["rg"], "nic", m["name"])], self._async("Network")

    def _vm_put(self, m, body):
        props = {**body.get("properties", {}), "provisioningState": "Creating"}
        self.resources[(m["rg"], "vm", m["name"])] = self._resource(m["rg"], "vm", m["name"], body.get("tags", {}), props=props)
        return 201, self.resources[(m["rg"], "vm", m["name"])], self._async("Compute")

    def _vm_view(self, m, _b):
        polls = self._poll("agent-" + m["name"])
        ready = self.s.agent_ready_after is not None and polls > self.s.agent_ready_after
        status = {"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Ready" if ready else "Not Ready"}
        return 200, {"vmAgent": {"vmAgentVersion": "2.12.0.2", "statuses": [status]},
                     "statuses": [{"code": "PowerState/running", "level": "Info", "displayStatus": "VM running"}]}, {}

    def _rc_put(self, m, body):
        key = (m["rg"], "runcommand", f"{m['name']}/{m['rc']}")
        self.resources[key] = {"id": f"/runCommands/{m['rc']}", "name": m["rc"], "type": "Microsoft.Compute/virtualMachines/runCommands",
                               "location": "westeurope", "properties": {**body["properties"], "provisioningState": "Succeeded"}}
        return 201, self.resources[key], self._async("Compute")

    def _rc_get(self, m, _b):
        res = self.resources[(m["rg"], "runcommand", f"{m['name']}/{m['rc']}")]
        running = self._poll("rc-" + m["name"]) <= self.s.run_command_polls
        state = "Running" if running else self.s.run_command_state
        view = {"executionState": state, "executionMessage": "", "exitCode": 0 if state == "Succeeded" else 1,
                "output": "" if running else self.s.run_command_output, "error": "",
                "startTime": "2026-11-30T01:30:00Z"}
        return 200, {**res, "properties": {**res["properties"], "instanceView": view}}, {}

    def _delete(self, m, kind):
        if kind in self.s.fail_deletes:
            return 500, {"error": {"code": "InternalServerError", "message": "fake delete failure"}}, {}
        if self.resources.pop((m["rg"], kind, m["name"]), None) is None:
            return 204, None, {}
        if kind == "vm":
            self.resources = {k: v for k, v in self.resources.items() if not (k[1] == "runcommand" and k[2].startswith(m["name"] + "/"))}
        return 202, None, self._async("Network" if kind == "nic" else "Compute")

    def _vm_delete(self, m, _b):
        return self._delete(m, "vm")

    def _nic_delete(self, m, _b):
        return self._delete(m, "nic")

    def _disk_delete(self, m, _b):
        return self._delete(m, "disk")
