#!/bin/sh
# Prints, as a JSON array, the stacks deploy.yml deploys (run from the repository root):
# - REQUESTED set (workflow_dispatch): that stack;
# - else every stack whose Pulumi.<stack>.yaml changed between LAST (the commit of the last successful
#   deployment) and HEAD, or every stack when the program, hooks, pack or dependencies changed;
# - every stack when LAST is empty or not a commit here.
# A stack whose file no longer exists is left out with a notice: its Pulumi stack stays until
# `pulumi destroy` (docs/policy.md, "CI workflows").
set -eu

all=$(for file in Pulumi.*.yaml; do [ -f "$file" ] && printf '%s\n' "$file"; done | sed -e 's/^Pulumi\.//' -e 's/\.yaml$//')
if [ -n "${REQUESTED:-}" ]; then
    stacks=$REQUESTED
elif [ -z "${LAST:-}" ] || ! git cat-file -e "$LAST^{commit}" 2>/dev/null; then
    echo "No earlier successful deployment: every stack" >&2
    stacks=$all
else
    changed=$(git diff --name-only "$LAST" HEAD)
    if printf '%s\n' "$changed" | grep -Eq '^(__main__\.py|Pulumi\.yaml|requirements\.txt|components/|hooks/|policy/)'; then
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
        echo "::notice::Pulumi.$stack.yaml does not exist: stack $stack is not deployed" >&2
    fi
done
printf '[%s]\n' "$json"
