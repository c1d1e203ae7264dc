"""Adopt an existing backup estate: `python -m adopt --stack prod` (make adopt) prints the `pulumi import
--file` document for the vault, its policies and protected items the stack declares (docs/adoption.md)."""
