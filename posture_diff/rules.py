"""How each posture change is classified (pure logic).

Every change gets one `kind` - `regression` (weaker protection), `improvement` or `neutral` - and
may carry flags a reviewer must not miss:
- `irreversible`: cannot be undone in place once applied (Azure refuses the way back);
- `create-time only`: Azure accepts it only on a new or empty vault, or it replaces the vault;
- `data loss`: recovery points would be deleted.
A path no rule knows (a setting another feature adds) is `neutral`: it is reported, never dropped.

Sources for the Azure facts (also in docs/reviewing.md):
- soft delete AlwaysON "can't be disabled for that vault" (MicrosoftDocs/azure-docs
  articles/backup/quick-backup-azure-enable-enhanced-soft-delete.md); immutability Locked likewise
  (https://learn.microsoft.com/azure/backup/backup-azure-immutable-vault-concept);
- cross-region restore: Azure does not turn it off again on a vault (hashicorp/terraform-provider-azurerm
  issue 20373, true -> false has no effect); storage redundancy cannot change once items are protected
  (https://learn.microsoft.com/azure/backup/backup-create-recovery-services-vault);
- a customer-managed key only on a vault without protected items, never back to platform-managed keys
  (https://learn.microsoft.com/azure/backup/encryption-at-rest-with-cmk);
- an enhanced policy cannot become standard (https://learn.microsoft.com/azure/backup/backup-azure-vms-enhanced-policy);
- cross-subscription restore PermanentlyDisabled cannot be re-enabled
  (https://learn.microsoft.com/azure/backup/backup-azure-arm-restore-vms).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

REGRESSION, IMPROVEMENT, NEUTRAL = "regression", "improvement", "neutral"
IRREVERSIBLE, CREATE_TIME_ONLY, DATA_LOSS = "irreversible", "create-time only", "data loss"
KINDS = (REGRESSION, IMPROVEMENT, NEUTRAL)
FLAGS = (IRREVERSIBLE, CREATE_TIME_ONLY, DATA_LOSS)
# Flags that fail `make diff` unless the stack acknowledges the change.
BLOCKING = frozenset(FLAGS)

Path = tuple[str, ...]


@dataclass(frozen=True)
class Verdict:
    kind: str
    flags: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Context:
    """Both whole postures, for rules that need more than the changed value."""

    before: Mapping[str, Any] = field(default_factory=dict)
    after: Mapping[str, Any] = field(default_factory=dict)


Rule = Callable[[Path, Any, Any, Context], Verdict]


def _rank(order: tuple[Any, ...], before: Any, after: Any) -> str:
    """improvement when `after` stands later in `order` (weakest first), regression when earlier."""
    if before not in order or after not in order:
        return NEUTRAL
    return IMPROVEMENT if order.index(after) > order.index(before) else REGRESSION


def _more_is_better(_path: Path, before: Any, after: Any, _context: Context) -> Verdict:
    """Counts (days, weeks, ...): less, or gone, is weaker."""
    low, high = (before or 0), (after or 0)
    if high == low:
        return Verdict(NEUTRAL)
    return Verdict(IMPROVEMENT if high > low else REGRESSION)


def _rpo(_path: Path, before: Any, after: Any, _context: Context) -> Verdict:
    if before is None or after is None:
        return Verdict(NEUTRAL)
    return Verdict(IMPROVEMENT if after < before else REGRESSION,
                   note="recovery points less often" if after > before else "recovery points more often")


def _ladder(order: tuple[Any, ...], one_way_to: Any = None, note: str = "") -> Rule:
    """Ordered settings where reaching (or leaving) `one_way_to` cannot be undone."""

    def rule(_path: Path, before: Any, after: Any, _context: Context) -> Verdict:
        flags = (IRREVERSIBLE,) if one_way_to is not None and one_way_to in (before, after) else ()
        return Verdict(_rank(order, before, after), flags, note if flags else "")

    return rule


def _enabled(_path: Path, before: Any, after: Any, _context: Context) -> Verdict:
    """On/off settings (True/False or Enabled/Disabled): off is weaker."""
    on_before, on_after = before in (True, "Enabled"), after in (True, "Enabled")
    if on_before == on_after:
        return Verdict(NEUTRAL)
    return Verdict(IMPROVEMENT if on_after else REGRESSION)


def _public_access(_path: Path, before: Any, after: Any, _context: Context) -> Verdict:
    return Verdict(_rank(("Enabled", "Disabled"), before, after))


def _cross_region_restore(_path: Path, before: Any, after: Any, _context: Context) -> Verdict:
    kind = _rank(("Disabled", "Enabled"), before, after)
    note = ("Azure cannot turn cross-region restore off on a vault: it means a new vault" if kind == REGRESSION
            else "once on, cross-region restore cannot be turned off without a new vault")
    return Verdict(kind, (IRREVERSIBLE,), note)


def _redundancy(_path: Path, before: Any, after: Any, _context: Context) -> Verdict:
    return Verdict(_rank(("LocallyRedundant", "ZoneRedundant", "GeoRedundant"), before, after), (CREATE_TIME_ONLY,),
                   "storage redundancy is fixed once items are registered in the vault")


def _customer_managed_key(_path: Path, before: Any, after: Any, _context: Context) -> Verdict:
    if before and after:
        return Verdict(NEUTRAL, note="key rotation to another key")
    if after:
        return Verdict(IMPROVEMENT, (IRREVERSIBLE, CREATE_TIME_ONLY),
                       "a customer-managed key can only be set on a vault without protected items, and never removed")
    return Verdict(REGRESSION, (IRREVERSIBLE,), "Azure refuses to go back to platform-managed keys")


def _replaces_vault(_path: Path, before: Any, after: Any, _context: Context) -> Verdict:
    return Verdict(REGRESSION, (CREATE_TIME_ONLY, DATA_LOSS),
                   "a different vault: Pulumi replaces it, and the old vault's recovery points go with it")


def _policy_kind(_path: Path, before: Any, after: Any, _context: Context) -> Verdict:
    if after == "standard":
        return Verdict(REGRESSION, (IRREVERSIBLE,), "Azure refuses to turn an enhanced policy into a standard one")
    return Verdict(IMPROVEMENT, (IRREVERSIBLE,), "VMs on an enhanced policy cannot move back to a standard one")


def _present(_path: Path, before: Any, after: Any, _context: Context) -> Verdict:
    """Something protective (workspace, resource guard, alert e-mails) set, removed or changed."""
    if bool(before) == bool(after):
        return Verdict(NEUTRAL)
    return Verdict(IMPROVEMENT if after else REGRESSION)


def _disks(_path: Path, before: Any, after: Any, _context: Context) -> Verdict:
    """None: every disk; a selection (include or exclude LUNs) backs up fewer."""
    if before and after:
        return Verdict(NEUTRAL, note="another disk selection")
    return Verdict(REGRESSION if after else IMPROVEMENT, note="fewer disks backed up" if after else "every disk backed up")


def _vm_added_or_removed(path: Path, before: Any, after: Any, _context: Context) -> Verdict:
    if before is None:
        return Verdict(IMPROVEMENT, note="a VM now backed up")
    if isinstance(before, Mapping) and before.get("protected"):
        return Verdict(REGRESSION, (DATA_LOSS,),
                       "removing the VM deletes its protected item and recovery points; set `retired: true` to stop "
                       "protection and keep the data")
    return Verdict(REGRESSION, note="the VM is no longer in the stack")


def _vm_protected(path: Path, before: Any, after: Any, context: Context) -> Verdict:
    if after:
        return Verdict(IMPROVEMENT)
    retired = bool(_get(context.after, ("vms", path[1], "retired")))
    return Verdict(REGRESSION, () if retired else (DATA_LOSS,),
                   "retired: protection stopped, recovery points kept" if retired else "protected item deleted with its recovery points")


def _retired(_path: Path, before: Any, after: Any, _context: Context) -> Verdict:
    return (Verdict(REGRESSION, note="no new recovery points; existing ones are kept") if after
            else Verdict(IMPROVEMENT, note="protection resumes"))


def _consistency(_path: Path, before: Any, after: Any, _context: Context) -> Verdict:
    return Verdict(_rank(("crash", "application"), before, after),
                   note="crash-consistent only: no freeze/thaw hooks" if after == "crash" else "")


def _vm_policy(path: Path, before: Any, after: Any, context: Context) -> Verdict:
    old = _get(context.before, ("policies", str(before), "rpoHours"))
    new = _get(context.after, ("policies", str(after), "rpoHours"))
    if old is None or new is None or old == new:
        return Verdict(NEUTRAL)
    return Verdict(IMPROVEMENT if new < old else REGRESSION, note=f"RPO {old} h -> {new} h")


def _continue_on_failure(_path: Path, before: Any, after: Any, _context: Context) -> Verdict:
    if after == "true":
        return Verdict(REGRESSION, note="a failed freeze no longer fails the backup: the recovery point is crash-consistent")
    return Verdict(IMPROVEMENT if before == "true" else NEUTRAL)


def _egress(_path: Path, before: Any, after: Any, _context: Context) -> Verdict:
    if after is None:
        return Verdict(REGRESSION, note="backup egress no longer opened: backups may fail to reach Azure")
    return Verdict(NEUTRAL)


def _stack_file(_path: Path, before: Any, after: Any, _context: Context) -> Verdict:
    if before is None:
        return Verdict(IMPROVEMENT, note="a new stack")
    return Verdict(NEUTRAL, note="no longer previewed or deployed by CI; the Pulumi stack and its Azure resources stay "
                                 "until `pulumi destroy`")


def _neutral(_path: Path, _before: Any, _after: Any, _context: Context) -> Verdict:
    return Verdict(NEUTRAL)


STACK_FILE = "(stack file)"
# (path pattern, rule); "*" matches one segment. First match wins.
RULES: list[tuple[Path, Rule]] = [
    ((STACK_FILE,), _stack_file),
    (("stack", "resourceGroupId"), _replaces_vault),
    (("stack", "location"), _replaces_vault),
    (("vault", "name"), _replaces_vault),
    (("vault", "location"), _replaces_vault),
    (("vault", "protectedFromDestroy"), _enabled),
    (("vault", "storageRedundancy"), _redundancy),
    (("vault", "crossRegionRestore"), _cross_region_restore),
    (("vault", "softDelete", "state"), _ladder(("Disabled", "Enabled", "AlwaysON"), "AlwaysON",
                                               "soft delete AlwaysON cannot be turned back")),
    (("vault", "softDelete", "retentionDays"), _more_is_better),
    (("vault", "immutability"), _ladder(("Disabled", "Unlocked", "Locked"), "Locked", "Locked immutability cannot be undone")),
    (("vault", "publicNetworkAccess"), _public_access),
    (("vault", "crossSubscriptionRestore"), _ladder(("Enabled", "Disabled", "PermanentlyDisabled"), "PermanentlyDisabled",
                                                    "PermanentlyDisabled cannot be re-enabled")),
    (("vault", "jobFailureAlerts"), _enabled),
    (("vault", "customerManagedKey"), _customer_managed_key),
    (("vault", "diagnosticsWorkspace"), _present),
    (("vault", "alertEmails"), _present),
    (("vault", "resourceGuardId"), _present),
    (("vault", "deleteLock"), _present),
    (("policies", "*", "kind"), _policy_kind),
    (("policies", "*", "rpoHours"), _rpo),
    (("policies", "*", "instantRestoreDays"), _more_is_better),
    (("policies", "*", "vaultRetentionDays"), _more_is_better),
    (("policies", "*", "retention", "*"), _more_is_better),
    (("vms", "*"), _vm_added_or_removed),
    (("vms", "*", "protected"), _vm_protected),
    (("vms", "*", "retired"), _retired),
    (("vms", "*", "consistency"), _consistency),
    (("vms", "*", "protectedFromDestroy"), _enabled),
    (("vms", "*", "disks"), _disks),
    (("vms", "*", "policy"), _vm_policy),
    (("vms", "*", "hooks", "settings", "continue_backup_on_failure"), _continue_on_failure),
    (("vms", "*", "ssh", "hostKeyPinned"), _enabled),
    (("vms", "*", "ssh", "proxy", "hostKeyPinned"), _enabled),
    (("egress", "*"), _egress),
    (("egress", "*", "*"), _egress),
]


def classify(path: Path, before: Any, after: Any, context: Context) -> Verdict:
    for pattern, rule in RULES:
        if len(pattern) == len(path) and all(p in ("*", segment) for p, segment in zip(pattern, path)):
            return rule(path, before, after, context)
    return _neutral(path, before, after, context)


def _get(document: Mapping[str, Any], path: Path) -> Any:
    for segment in path:
        if not isinstance(document, Mapping):
            return None
        document = document.get(segment)  # type: ignore[assignment]
    return document
