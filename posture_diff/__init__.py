"""Posture diff: the backup posture of every stack at a base git ref against the working tree,
change by change, each classified (regression / improvement / neutral; irreversible, create-time
only, data loss, protection removed, leaves production), and every vault, policy or protected item
Pulumi would delete or replace, from the two plans. `make diff BASE=<ref>`; reading it: docs/reviewing.md."""
