"""The irisbackup CrossGuard policy pack: rules in backup_rules.py, the offline check in offline.py.

`pulumi preview --policy-pack policy` runs __main__.py, which starts the policy server: never import it.
"""
