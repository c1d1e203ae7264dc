# irisbackup watchdog: started detached by the pre-script (before any freeze)
# as `sh watchdog.sh RUN_ID`.  When freeze_budget_seconds have passed since
# the run started and the post-script has not begun, it thaws every instance
# the run may have frozen.  Covers a post-script that never runs and a
# pre-script that is killed or finishes after the runner stopped waiting.
# `sh watchdog.sh RUN_ID now` (started by a later pre-script for a stale run
# whose processes are all gone) thaws at once.  It never signals anything:
# the post-script stops it with the post_started / watchdog_stop markers.
# shellcheck source-path=SCRIPTDIR
set -u
case $0 in
*/*) IB_HOOK_DIR=${0%/*} ;;
*) IB_HOOK_DIR=. ;;
esac
# shellcheck source=common.sh
. "$IB_HOOK_DIR/common.sh"
# shellcheck source=state.sh
. "$IB_HOOK_DIR/state.sh"

ib_init watchdog || exit 2
if [ "$#" -lt 1 ] || [ "$#" -gt 2 ] || ! ib_valid_run_id "$1" || { [ "$#" = 2 ] && [ "$2" != now ]; }; then
	ib_log "watchdog: bad arguments; exiting"
	exit 2
fi
IB_RUN=$1
IB_RUN_DIR="$IB_RUNS/$IB_RUN"
[ -d "$IB_RUN_DIR" ] || exit 2
ib_put_proc "$IB_RUN_DIR/watchdog.proc" "$$" || exit 2
ib_read "$IB_RUN_DIR/start"
case $IB_VAL in
'' | *[!0123456789]*) ib_now ;;
*) IB_NOW=$IB_VAL ;;
esac
IB_T0=$IB_NOW
deadline=$((IB_T0 + S_BUDGET * 100))
if [ "$#" = 2 ]; then
	deadline=0
	ib_log "watchdog started for stale run $IB_RUN: thawing what it may have left frozen"
else
	ib_log "watchdog armed: thaws at +${S_BUDGET}s unless the post-script comes first"
	# Detached means a session of its own; say so when it is not.
	ib_read "/proc/$$/stat"
	set -f
	# shellcheck disable=SC2086 # split on spaces on purpose; globbing is off
	set -- ${IB_VAL##*) }
	set +f
	[ "${4-}" = "$$" ] || ib_log "WARNING: watchdog is not in a session of its own (session ${4-?}): a kill of the runner's process group would stop it"
fi

while :; do
	if [ -e "$IB_RUN_DIR/post_started" ] || [ -e "$IB_RUN_DIR/watchdog_stop" ]; then
		exit 0
	fi
	ib_now
	left=$((deadline - IB_NOW))
	[ "$left" -gt 0 ] || break
	[ "$left" -le 50 ] || left=50
	sleep "$((left / 100)).$((left / 10 % 10))$((left % 10))"
done

if [ -e "$IB_RUN_DIR/post_started" ] || [ -e "$IB_RUN_DIR/watchdog_stop" ]; then
	exit 0
fi
ib_mark "$IB_RUN_DIR/watchdog_fired" || ib_log "WARNING: watchdog_fired not recorded"
if ! ib_check_creds; then
	ib_log "$IB_ERR; trying OS authentication (the emergency thaw needs no login)"
fi
ib_log "WATCHDOG: freeze budget of ${S_BUDGET}s passed and no post-script: thawing everything this run may have frozen"
ib_wait_inflight "$IB_RUN_DIR"
ib_candidates "$IB_RUN_DIR"
ib_read "$IB_RUN_DIR/instances"
targets=$IB_VAL
if [ -z "$IB_CAND" ]; then
	ib_log "WATCHDOG: nothing of this run is frozen"
	ib_verdict watchdog-fired watchdog-fired "$targets"
	exit 0
fi
ib_thaw_all "$IB_RUN_DIR" watchdog check "$IB_CAND"
if [ -n "$IB_THAW_BAD" ]; then
	ib_log "WATCHDOG: thaw NOT confirmed for:$IB_THAW_BAD (IRIS resumes by itself after WDSuspendLimit=${S_WDL}s); the lock stays"
	ib_verdict thaw-not-confirmed thaw-failed "$targets"
	exit 1
fi
ib_log "WATCHDOG: thawed $IB_CAND; this run's snapshot is not application-consistent"
# Everything of this run is thawed: free the lock for the next backup.
ib_lock_release
ib_verdict watchdog-fired watchdog-fired "$targets"
exit 0
