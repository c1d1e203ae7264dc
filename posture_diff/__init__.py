"""Posture diff: the backup posture of every stack at a base git ref against the working tree,
change by change, each classified (regression / improvement / neutral; irreversible, create-time
only, data loss). `make diff BASE=<ref>`; reading it: docs/reviewing.md."""
