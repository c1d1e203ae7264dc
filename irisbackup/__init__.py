"""Application-consistent Azure VM backups of InterSystems IRIS and Cache: the component package.

One subpackage per domain (vault, policy, network, vm, hooks, health, drill); settings/ maps a
stack file onto them; backup_stack declares them; the modules at this level are pure logic several
domains share. Importing the package itself loads nothing else (the policy pack imports
irisbackup.schedule with the standard library only)."""

__version__ = "0.1.0"
