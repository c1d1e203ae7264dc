"""The UTC time a resource was first declared, taken once and kept in the stack's state.

A pulumi-command local.Command with only `create` runs once, on the machine that runs `pulumi up`,
when Pulumi creates it; its stdout stays in the state until the command resource is deleted. Later
runs read the same value, and whatever is declared again after leaving the stack gets a new one.
Offline (mock engine), and in a preview of a new resource, the value is not known yet (None)."""

from __future__ import annotations

import pulumi
from pulumi_command import local

# Never to change: a command whose input changes runs again, which would re-date every stamp (every
# VM's alert watch would restart). `date -u +FORMAT` is POSIX; the deployer runs it, not the VM.
STAMP_COMMAND = "date -u +%Y-%m-%dT%H:%M:%SZ"
STAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def creation_stamp(name: str, opts: pulumi.ResourceOptions) -> pulumi.Output[str | None]:
    """Declare the stamp; parent it under what it dates, so it leaves the stack with it."""
    return local.Command(name, create=STAMP_COMMAND, opts=opts).stdout
