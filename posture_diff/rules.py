"""How each posture change is classified (pure logic).

Every change gets one `kind` - `regression` (weaker protection), `improvement` or `neutral` - and
may carry flags a reviewer must not miss:
- `irreversible`: cannot be undone in place once applied (Azure refuses the way back);
- `create-time only`: Azure accepts it only on a new or empty vault, or it replaces the vault;
- `data loss`: recovery points would be deleted (a retention cut: Azure applies the shorter retention
  to the existing points of every item on the policy; a vault, policy or protected item that Pulumi
  deletes or replaces: posture_diff/resources.py);
- `protection removed`: what keeps the backup data from being deleted is weakened or gone (soft delete,
  immutability, resource guard, delete lock, Pulumi's protect);
- `leaves production`: the stack is no longer production for the policy pack (policy/backup_rules.py
  `is_production`), so the production rules stop applying to it.
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
- a policy's retention applies to the items on it, existing points included: "Any changes you make
  affect the backup and retention of the items associated with the policy" (Azure/azure-powershell
  Set-AzRecoveryServicesBackupProtectionPolicy.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

REGRESSION, IMPROVEMENT, NEUTRAL = "regression", "improvement", "neutral"
IRREVERSIBLE, CREATE_TIME_ONLY, DATA_LOSS = "irreversible", "create-time only", "data loss"
PROTECTION_REMOVED, LEAVES_PRODUCTION = "protection removed", "leaves production"
KINDS = (REGRESSION, IMPROVEMENT, NEUTRAL)
FLAGS = (IRREVERSIBLE, CREATE_TIME_ONLY, DATA_LOSS, PROTECTION_REMOVED, LEAVES_PRODUCTION)
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


def _number(value: Any) -> float:
    """Counts as settings or hook settings hold them (14, "14", None for none)."""
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def _more_is_better(_path: Path, before: Any, after: Any, _context: Context) -> Verdict:
    """Counts (days, weeks, seconds, ...): less, or gone, is weaker."""
    low, high = _number(before), _number(after)
    if high == low:
        return Verdict(NEUTRAL)
    return Verdict(IMPROVEMENT if high > low else REGRESSION)


def _retention(path: Path, before: Any, after: Any, context: Context) -> Verdict:
    """A retention tier: Azure applies a shorter one to the existing recovery points too."""
    verdict = _more_is_better(path, before, after, context)
    if verdict.kind != REGRESSION:
        return verdict
    return Verdict(REGRESSION, (DATA_LOSS,), "Azure applies the shorter retention to the recovery points already "
                                            "taken: those older than it are deleted")


def _retention_keeps(_path: Path, before: Any, after: Any, _context: Context) -> Verdict:
    """Which backups a long-term tier keeps: one it no longer keeps expires at the shorter retention."""
    old, new = set(before or ()), set(after or ())
    if old - new:
        return Verdict(REGRESSION, (DATA_LOSS,), f"no longer kept by this tier: {', '.join(sorted(old - new))}; such "
                                                 "recovery points already taken expire at the shorter retention")
    return Verdict(IMPROVEMENT if new - old else NEUTRAL)


def _guarding(rule: Rule) -> Rule:
    """A setting that keeps backup data from deletion: weakening it removes protection."""

    def guarded(path: Path, before: Any, after: Any, context: Context) -> Verdict:
        verdict = rule(path, before, after, context)
        if verdict.kind != REGRESSION:
            return verdict
        note = "; ".join(filter(None, (verdict.note, "backup data is easier to delete")))
        return Verdict(REGRESSION, (*verdict.flags, PROTECTION_REMOVED), note)

    return guarded


def _less_is_better(path: Path, before: Any, after: Any, context: Context) -> Verdict:
    """Delays (hours before an alert fires, ...): longer is weaker."""
    verdict = _more_is_better(path, before, after, context)
    flipped = {IMPROVEMENT: REGRESSION, REGRESSION: IMPROVEMENT}
    return Verdict(flipped.get(verdict.kind, verdict.kind))


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
    # The blocking data-loss entry is the vault's own (and its policies' and items'), from the plans.
    return Verdict(REGRESSION, note="a different vault: Pulumi replaces it (see the vault's replace entry)")


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
    """Data-disk LUNs backed up (the OS disk always is): None is every disk, else an include or exclude list."""
    if before == after:
        return Verdict(NEUTRAL)
    old, new = _selection(before), _selection(after)
    # Over the LUNs Azure allows (0-63): one backed up before and not after is a narrowing.
    dropped = [lun for lun in range(64) if _backed_up(lun, *old) and not _backed_up(lun, *new)]
    if dropped:
        shown = ", ".join(map(str, dropped[:8])) + (", ..." if len(dropped) > 8 else "")
        return Verdict(REGRESSION, note=f"fewer disks backed up: data LUN {shown} no longer (if the VM has them)")
    return Verdict(IMPROVEMENT, note="more disks backed up")


def _selection(selection: Any) -> tuple[bool, frozenset[int]]:
    """(is an include list, its LUNs); every disk is an exclude list of none."""
    if not isinstance(selection, Mapping):
        return False, frozenset()
    return bool(selection.get("isInclusionList")), frozenset(int(lun) for lun in selection.get("diskLunList") or [])


def _backed_up(lun: int, inclusion: bool, luns: frozenset[int]) -> bool:
    return (lun in luns) if inclusion else (lun not in luns)


def _version(_path: Path, before: Any, after: Any, _context: Context) -> Verdict:
    """The hook bundle: an older version than the one installed is a downgrade."""
    old, new = _version_key(before), _version_key(after)
    if old is None or new is None or old == new:
        return Verdict(NEUTRAL)
    return (Verdict(IMPROVEMENT, note="hook bundle upgraded") if new > old
            else Verdict(REGRESSION, note="hook bundle downgraded: fixes in the newer freeze/thaw scripts are undone"))


def _version_key(version: Any) -> tuple[int, ...] | None:
    parts = str(version or "").lstrip("v").split("-", 1)[0].split(".")
    return tuple(int(part) for part in parts) if all(part.isdigit() for part in parts) else None


def _freeze_budget(path: Path, before: Any, after: Any, context: Context) -> Verdict:
    verdict = _more_is_better(path, before, after, context)
    if verdict.kind == REGRESSION:
        return Verdict(REGRESSION, note="a shorter freeze budget: a snapshot that takes longer is thawed early and "
                                        "not application-consistent")
    return verdict


def _drilled(_path: Path, before: Any, after: Any, _context: Context) -> Verdict:
    """The VMs restore drills test (drill.vms): one dropped is no longer proven restorable."""
    old, new = _names(before), _names(after)
    if old - new:
        return Verdict(REGRESSION, note=f"no longer drilled: {', '.join(sorted(old - new))}")
    return Verdict(IMPROVEMENT if new - old else NEUTRAL)


def _names(entries: Any) -> set[str]:
    return {str(entry.get("name")) for entry in entries or () if isinstance(entry, Mapping)}


def _production(_path: Path, before: Any, after: Any, _context: Context) -> Verdict:
    if after:
        return Verdict(IMPROVEMENT, note="the production rules of the policy pack now apply")
    return Verdict(REGRESSION, (LEAVES_PRODUCTION,),
                   "no longer production: the pack's production rules (resource guard, long-term retention) stop applying")


# A protected item that goes is blocking once, as the protected item's delete entry (posture_diff/resources.py).
def _vm_added_or_removed(path: Path, before: Any, after: Any, _context: Context) -> Verdict:
    if before is None:
        return Verdict(IMPROVEMENT, note="a VM now backed up")
    if isinstance(before, Mapping) and before.get("protected"):
        return Verdict(REGRESSION, note="removing the VM deletes its protected item and recovery points (see the protected "
                                        "item's delete entry); set `retired: true` to stop protection and keep the data")
    return Verdict(REGRESSION, note="the VM is no longer in the stack")


def _vm_protected(path: Path, before: Any, after: Any, context: Context) -> Verdict:
    if after:
        return Verdict(IMPROVEMENT)
    retired = bool(_get(context.after, ("vms", path[1], "retired")))
    return Verdict(REGRESSION, note="retired: protection stopped, recovery points kept" if retired
                   else "protected item deleted with its recovery points (see its delete entry)")


def _retired(_path: Path, before: Any, after: Any, _context: Context) -> Verdict:
    return (Verdict(REGRESSION, note="no new recovery points; existing ones are kept") if after
            else Verdict(IMPROVEMENT, note="protection resumes"))


def _consistency(_path: Path, before: Any, after: Any, _context: Context) -> Verdict:
    return Verdict(_rank(("crash", "application"), before, after),
                   note="crash-consistent only: no freeze/thaw hooks" if after == "crash" else "")


def _vm_policy(path: Path, before: Any, after: Any, context: Context) -> Verdict:
    # What the move does to the VM's protection is compared field by field under vms.<vm>.protection.
    return Verdict(NEUTRAL, note=f"what protects the VM: see vms.{path[1]}.protection.*")


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
    (("stack", "production"), _production),
    (("stack", "healthAlerts"), _enabled),
    (("stack", "restoreDrills"), _enabled),
    (("stack", "drill", "vms"), _drilled),
    (("stack", "health", "graceHours"), _less_is_better),
    (("stack", "resourceGroupId"), _replaces_vault),
    (("stack", "location"), _replaces_vault),
    (("vault", "name"), _replaces_vault),
    (("vault", "location"), _replaces_vault),
    (("vault", "protectedFromDestroy"), _guarding(_enabled)),
    (("vault", "storageRedundancy"), _redundancy),
    (("vault", "crossRegionRestore"), _cross_region_restore),
    (("vault", "softDelete", "state"), _guarding(_ladder(("Disabled", "Enabled", "AlwaysON"), "AlwaysON",
                                                         "soft delete AlwaysON cannot be turned back"))),
    (("vault", "softDelete", "retentionDays"), _more_is_better),
    (("vault", "immutability"), _guarding(_ladder(("Disabled", "Unlocked", "Locked"), "Locked",
                                                  "Locked immutability cannot be undone"))),
    (("vault", "publicNetworkAccess"), _public_access),
    (("vault", "crossSubscriptionRestore"), _ladder(("Enabled", "Disabled", "PermanentlyDisabled"), "PermanentlyDisabled",
                                                    "PermanentlyDisabled cannot be re-enabled")),
    (("vault", "jobFailureAlerts"), _enabled),
    (("vault", "customerManagedKey"), _customer_managed_key),
    (("vault", "diagnosticsWorkspace"), _present),
    (("vault", "alertEmails"), _present),
    (("vault", "resourceGuardId"), _guarding(_present)),
    (("vault", "deleteLock"), _guarding(_present)),
    (("policies", "*", "kind"), _policy_kind),
    (("policies", "*", "rpoHours"), _rpo),
    (("policies", "*", "instantRestoreDays"), _retention),
    # Follows from the retention tiers, whose own entries carry the data loss.
    (("policies", "*", "vaultRetentionDays"), _more_is_better),
    (("policies", "*", "retention", "*"), _retention),
    (("policies", "*", "retentionKeeps", "*"), _retention_keeps),
    (("vms", "*"), _vm_added_or_removed),
    (("vms", "*", "protected"), _vm_protected),
    (("vms", "*", "retired"), _retired),
    (("vms", "*", "consistency"), _consistency),
    (("vms", "*", "protectedFromDestroy"), _guarding(_enabled)),
    (("vms", "*", "disks"), _disks),
    (("vms", "*", "policy"), _vm_policy),
    (("vms", "*", "hooks", "version"), _version),
    (("vms", "*", "hooks", "settings", "continue_backup_on_failure"), _continue_on_failure),
    (("vms", "*", "hooks", "settings", "freeze_budget_seconds"), _freeze_budget),
    (("vms", "*", "ssh", "hostKeyPinned"), _enabled),
    (("vms", "*", "ssh", "proxy", "hostKeyPinned"), _enabled),
    (("egress", "*"), _egress),
    (("egress", "*", "*"), _egress),
]


# Compared as one value, not field by field: a disk selection means something only as a whole.
WHOLE: list[Path] = [("vms", "*", "disks")]


def compared_whole(path: Path) -> bool:
    return any(_matches(pattern, path) for pattern in WHOLE)


def _matches(pattern: Path, path: Path) -> bool:
    return len(pattern) == len(path) and all(p in ("*", segment) for p, segment in zip(pattern, path))


# vms.<vm>.protection.<field>: the policy a VM is on, compared across a move to another (renamed) policy.
PROTECTION = "protection"


def classify(path: Path, before: Any, after: Any, context: Context) -> Verdict:
    if len(path) > 3 and path[0] == "vms" and path[2] == PROTECTION:
        return classify(("policies", path[1], *path[3:]), before, after, context)
    for pattern, rule in RULES:
        if _matches(pattern, path):
            return rule(path, before, after, context)
    return _neutral(path, before, after, context)


def _get(document: Mapping[str, Any], path: Path) -> Any:
    for segment in path:
        if not isinstance(document, Mapping):
            return None
        document = document.get(segment)  # type: ignore[assignment]
    return document
