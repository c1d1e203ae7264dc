"""Checks the bodies the drill's SDK calls send against the ARM spec extracts in tools/arm-validate.

The fake Azure checks method, path and api-version of every request (its route table); this adds
the body check for the operations whose spec extracts are here. Add a line to BODY_SPECS when an
extract for another operation is added (see /work/shared/reference/arm-specs/README.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "arm-validate"))

import arm_validate as av  # noqa: E402

_RG = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers"
# fake route name -> (spec file, PUT path in the spec, API version)
BODY_SPECS = {
    "rc_put": ("compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-11-01/runCommand.json",
               f"{_RG}/Microsoft.Compute/virtualMachines/{{vmName}}/runCommands/{{runCommandName}}", "2024-11-01"),
}


def body_problems(route: str, body: dict) -> list[str]:
    spec, put_path, _version = BODY_SPECS[route]
    resource = av.Resource(spec, put_path, _version)
    doc, schema, _ = av._deref(spec, av._body_param(resource)["schema"])
    problems: list[av.Problem] = []
    av._check_object(body, doc, schema, "", problems)
    return [str(p) for p in problems if p.severity == "error"]


def check_all(requests) -> list[str]:
    """Problems of every recorded request that has a body spec; also checks each spec's API version
    is the one the request was sent with."""
    found = []
    for r in requests:
        if r.route in BODY_SPECS:
            if r.api_version != BODY_SPECS[r.route][2]:
                found.append(f"{r.route}: sent api-version {r.api_version}, spec {BODY_SPECS[r.route][2]}")
            found += [f"{r.route}: {p}" for p in body_problems(r.route, r.body)]
    return found
