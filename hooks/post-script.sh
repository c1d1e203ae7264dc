# irisbackup post-script: thaw what this run's pre-script froze.  Azure runs
# it as `sh /abs/path/post-script.sh` after the snapshot, also when the
# pre-script failed or timed out.  Exit 0 only when everything this run froze
# is verified thawed and writes stayed suspended until now; otherwise the
# snapshot must not be taken for application-consistent and we exit 1.
# shellcheck source-path=SCRIPTDIR
set -u
case $0 in
*/*) IB_HOOK_DIR=${0%/*} ;;
*) IB_HOOK_DIR=. ;;
esac
# shellcheck source=common.sh
. "$IB_HOOK_DIR/common.sh"

ib_init post-script || exit 2

post_done() { # status message
	ib_log "$2"
	if [ -n "${IB_RUN_DIR-}" ] && [ -d "$IB_RUN_DIR" ]; then
		printf '%s: %s\n' "$1" "$2" >"$IB_RUN_DIR/post_result"
	fi
	if [ "$1" = ok ]; then
		ib_summary "irisbackup post-script $IB_RUN: $2"
		exit 0
	fi
	ib_summary "irisbackup post-script $IB_RUN FAILED: $2 (see $IB_LOG)"
	exit 1
}

# Remove old run records, keeping the newest 30.
post_prune() {
	set -- "$IB_RUNS"/*
	[ "$#" -gt 40 ] || return 0
	_k=$(($# - 30))
	while [ "$_k" -gt 0 ]; do
		case $1 in
		"$IB_RUNS"/*T*Z-*) rm -rf "$1" ;;
		esac
		shift
		_k=$((_k - 1))
	done
}

IB_RUN_DIR=''
ib_read "$IB_LOCK/run"
active=$IB_VAL
if [ -z "$active" ] || ! ib_valid_run_id "$active"; then
	IB_RUN="none-$$"
	ib_header "start"
	post_done ok "no active run: nothing frozen, nothing to thaw"
fi
IB_RUN=$active
IB_RUN_DIR="$IB_RUNS/$IB_RUN"
ib_header "start"
if [ ! -d "$IB_RUN_DIR" ]; then
	ib_log "lock names run $IB_RUN but its record is missing; removing the lock"
	IB_RUN_DIR=''
	ib_lock_release
	post_done ok "nothing recorded as frozen"
fi

# Is the active run ours?  Azure starts pre and post from one extension
# process, so they share a parent.  A different parent that is still alive
# means this post-script belongs to another (rejected) run: leave it alone.
ib_read "$IB_RUN_DIR/runner_ppid"
owner=$IB_VAL
if [ -z "$owner" ] || { [ "$owner" != "$PPID" ] && ib_pid_alive "$owner"; }; then
	IB_RUN_DIR=''
	post_done ok "active run $active belongs to runner pid $owner (this post-script: parent $PPID); this run froze nothing, leaving it alone"
fi

printf '%s\n' "$$" >"$IB_RUN_DIR/post_pid"
if ! ib_check_creds; then
	ib_log "$IB_ERR; trying OS authentication (the emergency thaw needs no login)"
fi
: >"$IB_RUN_DIR/post_started"
ib_kill_watchdog "$IB_RUN_DIR"

# What the pre-script had achieved when the snapshot was taken (now).
ib_read "$IB_RUN_DIR/pre_result"
pre_at_start=$IB_VAL
attempted=0
for a in "$IB_RUN_DIR"/attempt.*; do
	[ -f "$a" ] && attempted=1
done
ib_wait_inflight "$IB_RUN_DIR"
ib_candidates "$IB_RUN_DIR"
ib_read "$IB_RUN_DIR/pre_result"
pre_result=$IB_VAL
ib_log "pre-script result: ${pre_result:-none (still running, killed or timed out)}; to thaw: ${IB_CAND:-nothing}"

IB_THAW_BAD='' IB_RESUMED_EARLY=''
if [ -n "$IB_CAND" ]; then
	ib_thaw_all "$IB_RUN_DIR" post-script "$IB_CAND"
fi

problems=''
if [ -e "$IB_RUN_DIR/watchdog_fired" ]; then
	problems="$problems; the watchdog thawed before the post-script ran (budget ${S_BUDGET}s exceeded)"
fi
if [ -n "$IB_RESUMED_EARLY" ]; then
	problems="$problems; writes resumed before thaw on:$IB_RESUMED_EARLY (WDSuspendLimit ${S_WDL}s or watchdog)"
fi
if [ -z "$pre_at_start" ] && [ "$attempted" = 1 ]; then
	problems="$problems; the pre-script was still freezing (or was killed) when the post-script started"
fi
if [ -n "$IB_THAW_BAD" ]; then
	problems="$problems; thaw NOT confirmed for:$IB_THAW_BAD"
fi

ib_lock_release
post_prune
if [ -n "$problems" ]; then
	post_done failed "snapshot not application-consistent${problems}"
fi
case $pre_result in
ok) post_done ok "thawed and verified: ${IB_CAND:-nothing was frozen}" ;;
*) post_done ok "nothing left frozen (pre-script: ${pre_result:-did not finish})" ;;
esac
