"""Every Azure call a drill makes, through the SDK clients (no hand-written REST).

API versions are pinned to those whose ARM spec extracts tools/arm-validate holds (the versions
azure-native 3.29.0 uses for the Pulumi program), so the request checks in the tests and the
program's declarations read the same specs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute import models as cm
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network import models as nm
from azure.mgmt.recoveryservicesbackup import RecoveryServicesBackupClient
from azure.mgmt.recoveryservicesbackup import models as bm

from irisbackup.azure_ids import ResourceId
from irisbackup.naming import FABRIC_NAME, protected_item_name, protection_container_name

from .config import DrillConfig
from .points import RecoveryPoint
from .safety import SandboxPolicy, check_no_public_ip, check_restore

BACKUP_API = "2024-10-01"
COMPUTE_API = "2024-11-01"
DISK_API = "2024-03-02"
NETWORK_API = "2024-05-01"
RUN_COMMAND_NAME = "irisbackup-drill-check"


@dataclass(frozen=True)
class RestoredDisk:
    id: str
    name: str
    os_type: str | None


@dataclass(frozen=True)
class RunCommandState:
    state: str  # Pending | Running | Succeeded | Failed | TimedOut | Canceled | Unknown
    exit_code: int | None
    output: str
    error: str


@dataclass(frozen=True)
class RunResource:
    kind: str  # vm | nic | disk
    name: str
    tags: dict[str, str]


class Azure:
    """The SDK clients of one drill, each with the sandbox policy in its pipeline."""

    def __init__(self, config: DrillConfig, credential, **client_kwargs: Any):
        sandbox = config.sandbox
        policy = SandboxPolicy(sandbox, config.vault_resource_group, config.vault_name)
        kwargs = {"per_call_policies": [policy], **client_kwargs}
        self.config, self.sandbox, self.rg = config, sandbox, sandbox.resource_group
        self.backup = RecoveryServicesBackupClient(credential, sandbox.subscription_id, api_version=BACKUP_API,
                                                   **kwargs)
        self.compute = ComputeManagementClient(credential, sandbox.subscription_id, **kwargs)
        self.network = NetworkManagementClient(credential, sandbox.subscription_id, **kwargs)

    # --- recovery points and restore ----------------------------------------------------------

    def _vault(self) -> tuple[str, str]:
        return self.config.vault_name, self.config.vault_resource_group

    def recovery_points(self, vm: ResourceId, start: datetime, end: datetime) -> list[RecoveryPoint]:
        # The filter format azure-cli uses for `az backup recoverypoint list` (custom.py).
        fmt = "%Y-%m-%d %I:%M:%S %p"
        query = f"startDate eq '{start.strftime(fmt)}' and endDate eq '{end.strftime(fmt)}'"
        vault, vault_rg = self._vault()
        pages = self.backup.recovery_points.list(vault, vault_rg, FABRIC_NAME, protection_container_name(vm),
                                                 protected_item_name(vm), filter=query)
        return [_point(item) for item in pages if isinstance(item.properties, bm.IaasVMRecoveryPoint)]

    def trigger_restore(self, vm: ResourceId, point: RecoveryPoint) -> str:
        """Start RestoreDisks into the sandbox; the operation id (as azure-cli tracks restores)."""
        request = bm.IaasVMRestoreRequest(
            recovery_point_id=point.id, recovery_type="RestoreDisks", source_resource_id=str(vm),
            storage_account_id=self.sandbox.staging_account_id,
            target_resource_group_id=self.sandbox.resource_group_id, region=self.sandbox.location,
            create_new_cloud_service=False, original_storage_account_option=False,
            restore_with_managed_disks=True)
        check_restore(request.as_dict(), self.sandbox)
        vault, vault_rg = self._vault()
        headers = self.backup.restores.begin_trigger(
            vault, vault_rg, FABRIC_NAME, protection_container_name(vm), protected_item_name(vm), point.id,
            bm.RestoreRequestResource(properties=request), polling=False,
            cls=lambda response, _body, _headers: response.http_response.headers).result()
        tracking = headers.get("Azure-AsyncOperation") or headers.get("Location") or ""
        return tracking.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]

    def restore_operation(self, operation_id: str) -> tuple[str, str | None]:
        """(status, job id once known) of the restore operation."""
        vault, vault_rg = self._vault()
        status = self.backup.backup_operation_statuses.get(vault, vault_rg, operation_id)
        job_id = getattr(status.properties, "job_id", None) if status.properties else None
        return status.status, job_id

    def job(self, job_id: str) -> tuple[str, str]:
        """(status, error text) of a backup job: InProgress, Completed, CompletedWithWarnings, Failed, Cancelled."""
        vault, vault_rg = self._vault()
        job = self.backup.job_details.get(vault, vault_rg, job_id).properties
        errors = getattr(job, "error_details", None) or []
        text = "; ".join(f"{e.error_code}: {e.error_string}" for e in errors)
        return job.status, text

    # --- the VM built from restored disks -----------------------------------------------------

    def disks(self) -> list[RestoredDisk]:
        pages = self.compute.disks.list_by_resource_group(self.rg, api_version=DISK_API)
        return [RestoredDisk(d.id, d.name, d.properties.os_type if d.properties else None) for d in pages]

    def tag_disk(self, name: str, tags: dict[str, str]) -> None:
        self.compute.disks.begin_update(self.rg, name, cm.DiskUpdate(tags=tags), api_version=DISK_API).result()

    def create_nic(self, name: str, tags: dict[str, str]) -> str:
        nic = nm.NetworkInterface(location=self.sandbox.location, tags=tags, properties=nm.NetworkInterfacePropertiesFormat(
            ip_configurations=[nm.NetworkInterfaceIPConfiguration(name="ipconfig1", properties=nm.NetworkInterfaceIPConfigurationPropertiesFormat(
                subnet=nm.Subnet(id=self.sandbox.subnet_id), private_ip_allocation_method="Dynamic"))]))
        check_no_public_ip(nic.as_dict())
        return self.network.network_interfaces.begin_create_or_update(self.rg, name, nic, api_version=NETWORK_API).result().id

    def create_vm(self, name: str, os_disk: RestoredDisk, data_disks: list[tuple[int, RestoredDisk]], nic_id: str,
                  point: RecoveryPoint, tags: dict[str, str]) -> None:
        security = None
        if point.security_type == "TrustedLaunch":  # the restored OS disk only boots as it was built
            security = cm.SecurityProfile(security_type="TrustedLaunch",
                                          uefi_settings=cm.UefiSettings(secure_boot_enabled=True, v_tpm_enabled=True))
        vm = cm.VirtualMachine(location=self.sandbox.location, tags=tags, properties=cm.VirtualMachineProperties(
            hardware_profile=cm.HardwareProfile(vm_size=self.config.vm_size),
            storage_profile=cm.StorageProfile(
                os_disk=cm.OSDisk(os_type=os_disk.os_type or "Linux", create_option="Attach",
                                  managed_disk=cm.ManagedDiskParameters(id=os_disk.id), delete_option="Delete"),
                data_disks=[cm.DataDisk(lun=lun, create_option="Attach", managed_disk=cm.ManagedDiskParameters(id=d.id),
                                        delete_option="Delete") for lun, d in data_disks]),
            network_profile=cm.NetworkProfile(network_interfaces=[cm.NetworkInterfaceReference(
                id=nic_id, properties=cm.NetworkInterfaceReferenceProperties(primary=True, delete_option="Delete"))]),
            security_profile=security,
            diagnostics_profile=cm.DiagnosticsProfile(boot_diagnostics=cm.BootDiagnostics(enabled=True))))
        check_no_public_ip(vm.as_dict())
        self.compute.virtual_machines.begin_create_or_update(self.rg, name, vm, api_version=COMPUTE_API).result()

    def agent_status(self, vm_name: str) -> str:
        view = self.compute.virtual_machines.instance_view(self.rg, vm_name, api_version=COMPUTE_API)
        statuses = view.vm_agent.statuses if view.vm_agent and view.vm_agent.statuses else []
        return statuses[0].display_status if statuses else "Unknown"

    # --- the check -----------------------------------------------------------------------------

    def start_run_command(self, vm_name: str, script: str, timeout_seconds: int, tags: dict[str, str]) -> None:
        command = cm.VirtualMachineRunCommand(location=self.sandbox.location, tags=tags,
                                              properties=cm.VirtualMachineRunCommandProperties(
            source=cm.VirtualMachineRunCommandScriptSource(script=script), async_execution=True,
            timeout_in_seconds=timeout_seconds, treat_failure_as_deployment_failure=False))
        self.compute.virtual_machine_run_commands.begin_create_or_update(
            self.rg, vm_name, RUN_COMMAND_NAME, command, api_version=COMPUTE_API).result()

    def run_command(self, vm_name: str) -> RunCommandState:
        command = self.compute.virtual_machine_run_commands.get_by_virtual_machine(
            self.rg, vm_name, RUN_COMMAND_NAME, expand="instanceView", api_version=COMPUTE_API)
        view = command.properties.instance_view if command.properties else None
        if view is None:
            return RunCommandState("Unknown", None, "", "")
        return RunCommandState(view.execution_state or "Unknown", view.exit_code, view.output or "", view.error or "")

    # --- teardown and sweep ----------------------------------------------------------------------

    def run_resources(self) -> list[RunResource]:
        """Every VM, NIC and disk in the sandbox resource group, with its tags."""
        found = [RunResource("vm", v.name, dict(v.tags or {}))
                 for v in self.compute.virtual_machines.list(self.rg, api_version=COMPUTE_API)]
        found += [RunResource("nic", n.name, dict(n.tags or {}))
                  for n in self.network.network_interfaces.list(self.rg, api_version=NETWORK_API)]
        found += [RunResource("disk", d.name, dict(d.tags or {}))
                  for d in self.compute.disks.list_by_resource_group(self.rg, api_version=DISK_API)]
        return found

    def delete(self, kind: str, name: str) -> bool:
        """Delete one run resource; False when it was already gone."""
        deleters = {
            "vm": lambda: self.compute.virtual_machines.begin_delete(self.rg, name, api_version=COMPUTE_API),
            "nic": lambda: self.network.network_interfaces.begin_delete(self.rg, name, api_version=NETWORK_API),
            "disk": lambda: self.compute.disks.begin_delete(self.rg, name, api_version=DISK_API),
        }
        try:
            deleters[kind]().result()
        except ResourceNotFoundError:
            return False
        return True


def _point(item: bm.RecoveryPointResource) -> RecoveryPoint:
    props: bm.IaasVMRecoveryPoint = item.properties
    time = props.recovery_point_time or datetime.fromtimestamp(0, timezone.utc)
    if time.tzinfo is None:
        time = time.replace(tzinfo=timezone.utc)
    tiers = tuple(t.type for t in (props.recovery_point_tier_details or []) if t.type)
    config = props.recovery_point_disk_configuration
    disks = tuple((d.lun, d.name) for d in (config.included_disk_list or [])) if config else ()
    return RecoveryPoint(item.name, time, props.recovery_point_type or "Unknown", tiers, props.security_type, disks)
