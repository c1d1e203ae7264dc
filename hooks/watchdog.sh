# irisbackup watchdog: started detached by the pre-script (before any freeze)
# as `sh watchdog.sh RUN_ID`.  When freeze_budget_seconds have passed since
# the run started and the post-script has not begun, it thaws every instance
# the run may have frozen.  Covers a post-script that never runs and a
# pre-script that is killed or finishes after the runner stopped waiting.
# shellcheck source-path=SCRIPTDIR
set -u
case $0 in
*/*) IB_HOOK_DIR=${0%/*} ;;
*) IB_HOOK_DIR=. ;;
esac
# shellcheck source=common.sh
. "$IB_HOOK_DIR/common.sh"

ib_init watchdog || exit 2
if [ "$#" -ne 1 ] || ! ib_valid_run_id "$1"; then
	ib_log "watchdog: bad arguments; exiting"
	exit 2
fi
IB_RUN=$1
IB_RUN_DIR="$IB_RUNS/$IB_RUN"
[ -d "$IB_RUN_DIR" ] || exit 2
printf '%s\n' "$$" >"$IB_RUN_DIR/watchdog.pid"
ib_read "$IB_RUN_DIR/start"
case $IB_VAL in
'' | *[!0123456789]*) ib_now ;;
*) IB_NOW=$IB_VAL ;;
esac
IB_T0=$IB_NOW
deadline=$((IB_T0 + S_BUDGET * 100))
ib_log "watchdog armed: thaws at +${S_BUDGET}s unless the post-script comes first"

while :; do
	if [ -e "$IB_RUN_DIR/post_started" ] || [ -e "$IB_RUN_DIR/watchdog_stop" ]; then
		exit 0
	fi
	ib_now
	left=$((deadline - IB_NOW))
	[ "$left" -gt 0 ] || break
	[ "$left" -le 100 ] || left=100
	sleep "$((left / 100)).$((left / 10 % 10))$((left % 10))"
done

if [ -e "$IB_RUN_DIR/post_started" ] || [ -e "$IB_RUN_DIR/watchdog_stop" ]; then
	exit 0
fi
: >"$IB_RUN_DIR/watchdog_fired"
if ! ib_check_creds; then
	ib_log "$IB_ERR; trying OS authentication (the emergency thaw needs no login)"
fi
ib_log "WATCHDOG: freeze budget of ${S_BUDGET}s passed and no post-script: thawing everything this run froze"
ib_wait_inflight "$IB_RUN_DIR"
ib_candidates "$IB_RUN_DIR"
if [ -z "$IB_CAND" ]; then
	ib_log "WATCHDOG: nothing of this run is frozen"
	exit 0
fi
ib_thaw_all "$IB_RUN_DIR" watchdog "$IB_CAND"
if [ -n "$IB_THAW_BAD" ]; then
	ib_log "WATCHDOG: thaw NOT confirmed for:$IB_THAW_BAD (IRIS resumes by itself after WDSuspendLimit=${S_WDL}s)"
	exit 1
fi
ib_log "WATCHDOG: thawed $IB_CAND; this run's snapshot is not application-consistent"
exit 0
