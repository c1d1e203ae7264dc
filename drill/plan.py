"""--dry-run: every step a drill would take and every resource it would create (no credentials)."""

from __future__ import annotations

from irisbackup.drill import drill_naming as naming

from .azure_ops import RUN_COMMAND_NAME
from .config import DrillConfig
from .runner import AGENT_TIMEOUT, RUN_COMMAND_GRACE


def dry_run(config: DrillConfig, run_id: str) -> list[str]:
    sb = config.sandbox
    lines = [f"Restore drill of stack {config.stack} (run {run_id}): dry run, nothing is created.",
             f"Sandbox (declared by the Pulumi program): resource group {sb.resource_group} in {sb.location}, "
             f"subnet {sb.subnet_id}, staging storage account {sb.staging_account}.",
             f"Every resource below is tagged {naming.RUN_TAG}={config.stack}, {naming.RUN_ID_TAG}={run_id}, "
             f"{naming.STARTED_TAG}=<start time>."]
    if not config.enabled:
        lines.append("Note: drill.enabled is false: the scheduled workflow skips this stack; a manual run still works.")
    for number, vm in enumerate(config.vms, 1):
        restored = naming.restored_vm_name(vm.name, run_id)
        window = f"random point of the last {vm.window_days} days" if vm.recovery_point == "random" else "latest point"
        instances = ", ".join(f"{i.name} ({i.product})" for i in vm.instances) or "every instance `qlist` shows"
        lines += [
            f"{number}. {vm.name}",
            f"   a. pick the {window} from vault {config.vault_name} (resource group {config.vault_resource_group}); "
            "record its time and type",
            f"   b. RestoreDisks (never OriginalLocation) into {sb.resource_group}, staging account {sb.staging_account}; "
            "wait for the restore job",
            f"   c. create NIC {naming.restored_nic_name(vm.name, run_id)} in {sb.subnet}: private IP only, no public IP",
            f"   d. create VM {restored} ({config.vm_size}) from the restored disks (Attach), boot diagnostics on",
            f"   e. wait up to {AGENT_TIMEOUT // 60} min for the VM agent to report Ready",
            f"   f. managed Run Command {RUN_COMMAND_NAME} (timeout {config.run_command_timeout_minutes} min, "
            f"+{RUN_COMMAND_GRACE // 60} min grace): drill/vm/check.sh over {instances}: disarm SystemStart/ZSTU/"
            "JoinMirror, start, detect recovery needing an operator, remove the mirror from a mirror member's copy, "
            "CheckList^Integrity over every database, stop",
            *_mirror_lines(vm),
            f"   g. tear down (always): delete VM {restored}, its NIC and the restored disks",
        ]
    lines.append(f"Then: report (JSON, Markdown, JUnit XML). Leftovers older than {config.max_age_hours} h: "
                 "`python -m drill sweep`.")
    return lines


def _mirror_lines(vm) -> list[str]:
    return [f"      mirror member {m.instance} ({m.kind}, set {m.mirror_set}): SYS.Mirror.RemoveMirrorConfiguration(1,0,0) "
            "on the copy before the integrity check (mirror journals kept); the sandbox reaches no member's ISCAgent "
            "(2188) nor the arbiter" for m in vm.mirror_members]
