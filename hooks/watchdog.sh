# irisbackup watchdog: started detached by the pre-script (before any freeze)
# as `sh watchdog.sh RUN_ID`.  When freeze_budget_seconds have passed since
# the run started and no thaw of the run has finished (no watchdog_stop;
# a post-script still thawing gets its few steps), it thaws every instance
# the run may have frozen.  Covers a post-script that never runs or dies, and
# a pre-script that is killed or finishes after the runner stopped waiting.
# With the `settle` marker (a freeze call was killed and may still land) it
# checks those instances every second until the budget ends and thaws them
# the moment they are suspended.
# `sh watchdog.sh RUN_ID now` (started by a later pre-script for a stale run
# whose processes are all gone) thaws at once.  It never signals anything:
# the post-script stops it with the watchdog_stop marker.
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

# wd_stand_down: the run's own thaw is over (watchdog_stop), or it handed its
# killed freezes over to us (settle: returns 1 with wd_settle=1).
wd_settle=0
wd_stand_down() {
	[ -e "$IB_RUN_DIR/watchdog_stop" ] && return 0
	[ -e "$IB_RUN_DIR/settle" ] && wd_settle=1
	return 1
}

while [ "$deadline" != 0 ]; do
	wd_stand_down && exit 0
	[ "$wd_settle" = 0 ] || break
	ib_now
	left=$((deadline - IB_NOW))
	if [ "$left" -le 0 ]; then
		# A post-script that started and still runs is thawing: give it its
		# steps (it marks watchdog_stop); one that died leaves it to us.
		[ -e "$IB_RUN_DIR/post_started" ] && ib_proc_alive "$IB_RUN_DIR/post.proc" &&
			[ "$left" -gt $((-5 * IB_STEP * 100)) ] || break
		left=10
	fi
	[ "$left" -le 50 ] || left=50
	sleep "$((left / 100)).$((left / 10 % 10))$((left % 10))"
done

if ! ib_check_creds; then
	ib_log "$IB_ERR; trying OS authentication (the emergency thaw needs no login)"
fi
ib_read "$IB_RUN_DIR/instances"
targets=$IB_VAL

if [ "$wd_settle" = 1 ]; then
	ib_log "watching the killed freeze calls of this run until +${S_BUDGET}s (they may still land)"
	ib_settle "$IB_RUN_DIR" watchdog
	if [ -n "$IB_THAW_BAD" ]; then
		ib_log "WATCHDOG: a late freeze landed and its thaw is NOT confirmed for:$IB_THAW_BAD (IRIS resumes by itself after WDSuspendLimit=${S_WDL}s); the lock stays"
		ib_verdict thaw-not-confirmed thaw-failed "$targets"
		exit 1
	fi
	# Settled: free the lock (the post-script left it to us; one still to come
	# finds nothing of its run frozen, or another run's lock, and touches nothing).
	ib_lock_release
	if [ "$IB_STATE_BAD" = 1 ]; then
		ib_verdict state-write-failed state-write-failed "$targets"
	elif [ -n "$IB_LATE" ]; then
		ib_log "WATCHDOG: a killed freeze landed late on:$IB_LATE; thawed and verified"
		ib_verdict not-consistent freeze-landed-late "$targets"
	fi
	exit 0
fi

ib_mark "$IB_RUN_DIR/watchdog_fired" || ib_log "WARNING: watchdog_fired not recorded"
# Why no post-script came in time: its release may have been removed under
# the run (an uninstall, `pulumi up` replacing the bundle).
reason=watchdog-fired verdict=watchdog-fired
if [ ! -f "$IB_DIR/post-script.sh" ]; then
	ib_log "WATCHDOG: this run's release $IB_DIR was removed during the run: Azure could not start its post-script"
	reason=release-removed verdict=not-consistent
fi
[ "$IB_STATE_BAD" = 0 ] || reason=state-write-failed verdict=state-write-failed
ib_log "WATCHDOG: freeze budget of ${S_BUDGET}s passed and no post-script: thawing everything this run may have frozen"
ib_wait_inflight "$IB_RUN_DIR"
ib_candidates "$IB_RUN_DIR"
# A killed freeze already thawed by the run may have landed since: thaw it too.
ib_unsettled "$IB_RUN_DIR"
for it in $IB_UNSET; do
	case " $IB_CAND " in *" $it "*) ;; *) IB_CAND="${IB_CAND:+$IB_CAND }$it" ;; esac
done
if [ -z "$IB_CAND" ]; then
	ib_log "WATCHDOG: nothing of this run is frozen"
	ib_verdict "$verdict" "$reason" "$targets"
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
[ "$IB_STATE_BAD" = 0 ] || reason=state-write-failed verdict=state-write-failed
ib_verdict "$verdict" "$reason" "$targets"
exit 0
