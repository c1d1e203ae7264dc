#!/bin/sh
# Prints, as a JSON array, the stacks deploy.yml deploys (run from the repository root):
# - REQUESTED set (workflow_dispatch): that stack;
# - else every stack whose Pulumi.<stack>.yaml changed between LAST (the commit of the last successful
#   deployment) and HEAD, or every stack when an input of every deployment changed (ALL_STACKS_INPUTS)
#   or a path that is classified nowhere below (a new folder deploys everything until it is classified);
# - every stack when LAST is empty or not a commit here.
# A stack whose file no longer exists is left out with a notice: its Pulumi stack stays until
# `pulumi destroy` (docs/policy.md, "CI workflows").
# Only real stacks deploy: a Pulumi.<stack>.yaml beside Pulumi.yaml. The examples in examples/ (fake ids)
# never do, not even when requested by name; with no real stack this prints [].
set -eu

# What a deployment reads besides its stack file: the program (__main__.py, irisbackup/, the hook bundle
# in hooks/, the KQL in queries/), the policy pack and its per-stack config (policy/), the offline plan
# that writes the pack's config (offline_plan/, Makefile), the dependencies and CLI pin
# (requirements.txt, requirements.lock), the project file and the deploy workflow itself.
# tests/policy/test_workflows.py checks this against every file a rendered stack actually opens.
ALL_STACKS_INPUTS='^(__main__\.py|Pulumi\.yaml|requirements\.txt|requirements\.lock|Makefile|irisbackup/|hooks/|queries/|policy/|offline_plan/|\.github/workflows/deploy\.yml)'
# Never read by a deployment: docs, tests, benchmarks, review-only tools (posture_diff/, tools/), the
# import-file generator run once by hand (adopt/), the
# restore-drill runtime (drill/, run by restore-drill.yml against what is deployed), the example stacks
# (examples/: fake ids, never deployed), other CI files.
NOT_STACK_INPUTS='^(README\.md|examples/|pyproject\.toml|\.gitignore|pytest\.ini|\.ci/|docs/|tests/|bench/|drill/|posture_diff/|tools/|adopt/|\.github/scripts/|\.github/workflows/(pull-request|restore-drill)\.yml)'
STACK_FILE='^Pulumi\.[^/]*\.yaml$'

all=$(for file in Pulumi.*.yaml; do [ -f "$file" ] && printf '%s\n' "$file"; done | sed -e 's/^Pulumi\.//' -e 's/\.yaml$//')
if [ -n "${REQUESTED:-}" ]; then
    stacks=$REQUESTED
elif [ -z "${LAST:-}" ] || ! git cat-file -e "$LAST^{commit}" 2>/dev/null; then
    echo "No earlier successful deployment: every stack" >&2
    stacks=$all
else
    changed=$(git diff --name-only --no-renames "$LAST" HEAD)  # a move shows both ends
    unclassified=$(printf '%s\n' "$changed" | grep -Ev "$ALL_STACKS_INPUTS|$NOT_STACK_INPUTS|$STACK_FILE" | grep -v '^$' || true)
    if printf '%s\n' "$changed" | grep -Eq "$ALL_STACKS_INPUTS"; then
        stacks=$all
    elif [ -n "$unclassified" ]; then
        printf '%s\n' "$unclassified" | sed -e 's/^/::warning::/' \
            -e 's/$/ is neither a deployment input nor listed as not one in .github\/scripts\/stacks-to-deploy.sh: deploying every stack/' >&2
        stacks=$all
    else
        stacks=$(printf '%s\n' "$changed" | sed -n 's/^Pulumi\.\(.*\)\.yaml$/\1/p')
    fi
fi

json=""
for stack in $stacks; do
    case $stack in
        *[!A-Za-z0-9_.-]*) echo "not a stack name: $stack" >&2; exit 2 ;;
    esac
    if [ -f "Pulumi.$stack.yaml" ]; then
        json="$json${json:+,}\"$stack\""
    else
        echo "::notice::Pulumi.$stack.yaml does not exist beside Pulumi.yaml: stack $stack is not deployed (examples/ never is)" >&2
    fi
done
printf '[%s]\n' "$json"
