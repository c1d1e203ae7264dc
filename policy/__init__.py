"""The irisbackup CrossGuard policy pack: rules in backup_rules.py (with hook_rules.py and rule_kit.py),
the offline check in offline.py.

`pulumi preview --policy-pack policy` runs __main__.py, which starts the policy server: never import it.
"""
