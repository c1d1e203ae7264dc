"""Restore drills: restore a recovery point into the sandbox, start IRIS, check integrity, tear down.

`python -m drill` (see docs/restore-drill.md). The sandbox itself is declared by the Pulumi program
(irisbackup/drill/drill_sandbox.py); this package creates and deletes only the per-run resources in it.
"""
