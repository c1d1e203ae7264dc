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
# shellcheck source=state.sh
. "$IB_HOOK_DIR/state.sh"

ib_init post-script || exit 2
IB_RUN_DIR='' targets='' own_lock=0

# post_done STATUS VERDICT REASON MESSAGE: record, syslog verdict, exit (0 only for ok).
# Called after every thaw.  A run record that could not be written (also
# this one) makes it state-write-failed, exit 1: only a confirmed thaw failure says more.
post_done() {
	ib_log "$4"
	[ -z "$IB_RUN_DIR" ] || ib_put "$IB_RUN_DIR/post_result" "$1 $3 $4" || :
	[ "$own_lock" = 0 ] || ib_lock_release
	if [ "$IB_STATE_BAD" = 1 ] && [ "$2" != thaw-not-confirmed ]; then
		ib_log "the run record in $IB_RUN_DIR could not be written (state file system full, out of inodes or read-only): verdict state-write-failed (was $2/$3)"
		set -- failed state-write-failed state-write-failed "$4; the run record could not be written"
	fi
	ib_verdict "$2" "$3" "$targets"
	post_prune
	if [ "$1" = ok ]; then
		ib_summary "irisbackup post-script $IB_RUN: $4"
		exit 0
	fi
	ib_summary "irisbackup post-script $IB_RUN FAILED: $4 (see $IB_LOG)"
	exit 1
}

# Remove old run records (keeping the newest 30) and runner index entries
# whose run is gone.
post_prune() {
	set -- "$IB_RUNS"/*
	if [ "$#" -gt 40 ]; then
		_k=$(($# - 30))
		while [ "$_k" -gt 0 ]; do
			case $1 in
			# Names sort by the wall clock, which can step back: never drop an active run.
			"$IB_RUNS"/*T*Z-*) [ "$1" = "$IB_RUN_DIR" ] || ib_run_active "$1" || rm -rf "$1" ;;
			esac
			shift
			_k=$((_k - 1))
		done
	fi
	for _r in "$IB_RUNNERS"/*; do
		[ -f "$_r" ] || continue
		ib_read "$_r"
		[ -n "$IB_VAL" ] && [ -d "$IB_RUNS/$IB_VAL" ] || rm -f "$_r"
	done
}

# Our run: the one our runner process started (PluginHost starts pre and post
# from threads of one process, so they share a parent), whoever holds the lock.
IB_RUN="none-$$"
if ib_runner_key "$PPID" && ib_read "$IB_RUNNERS/$IB_VAL" && ib_valid_run_id "$IB_VAL"; then
	mine=$IB_VAL
	if [ -d "$IB_RUNS/$mine" ] && ib_same_boot "$IB_RUNS/$mine"; then
		IB_RUN=$mine
		IB_RUN_DIR="$IB_RUNS/$IB_RUN"
	fi
fi
ib_header "start"
if [ -z "$IB_RUN_DIR" ]; then
	post_done ok not-consistent no-run-record "no run recorded by this runner (pid $PPID): its pre-script did not run or stopped before recording anything; nothing of it is frozen"
fi
ib_read "$IB_RUN_DIR/instances"
targets=$IB_VAL
ib_put_proc "$IB_RUN_DIR/post.proc" "$$" || :
# The pre-script checks this marker before freezing; without it the deadline still stops it.
ib_mark "$IB_RUN_DIR/post_started" || ib_log "WARNING: post_started not recorded; a pre-script still running stops at its own deadline"
if ! ib_check_creds; then
	ib_log "$IB_ERR; trying OS authentication (the emergency thaw needs no login)"
fi

# What the pre-script had achieved when the snapshot was taken (now).
ib_read "$IB_RUN_DIR/pre_result"
pre_at_start=$IB_VAL
reason=${pre_at_start#failed }
case $pre_at_start in
"failed lock-held "* | "failed stale-run-frozen "*)
	post_done ok rejected "${reason%% *}" "this run was rejected by its pre-script (another run held the lock) and froze nothing; leaving the other run alone"
	;;
esac

# The lock: ours, or free (we take it while we thaw).  Held by another run
# means ours was judged stale and its leftovers were thawed by its watchdog.
ib_read "$IB_LOCK/run"
if [ "$IB_VAL" = "$IB_RUN" ]; then
	own_lock=1
elif mkdir "$IB_LOCK" 2>/dev/null; then
	own_lock=1
	ib_put "$IB_LOCK/run" "$IB_RUN" || :
elif [ ! -d "$IB_LOCK" ]; then
	# Not held, yet not creatable: the state file system refuses writes.  Thaw anyway.
	IB_STATE_BAD=1
	ib_log "cannot take the lock $IB_LOCK (state file system full or read-only?); thawing this run's instances anyway"
else
	other=$IB_VAL
	ib_candidates "$IB_RUN_DIR"
	verdict=not-consistent reason=run-taken-over
	[ -e "$IB_RUN_DIR/watchdog_fired" ] && verdict=watchdog-fired reason=watchdog-fired
	post_done failed "$verdict" "$reason" "snapshot not application-consistent; run ${other:-?} holds the lock now (this run's watchdog fired, or the run was judged stale): not touching any instance; of this run possibly still frozen:${IB_CAND:- nothing}"
fi

attempted=0
for a in "$IB_RUN_DIR"/attempt.*; do
	[ -e "$a" ] && attempted=1
done
ib_wait_inflight "$IB_RUN_DIR"
ib_candidates "$IB_RUN_DIR"
ib_read "$IB_RUN_DIR/pre_result"
pre_result=$IB_VAL
ib_log "pre-script result: ${pre_result:-none (still running, killed or timed out)}; may be frozen: ${IB_CAND:-nothing}"

IB_THAW_BAD='' IB_RESUMED_EARLY=''
if [ -n "$IB_CAND" ]; then
	ib_thaw_all "$IB_RUN_DIR" post-script check "$IB_CAND"
fi
# A freeze call that was killed may still land after our verified thaw: the
# watchdog watches it until the budget ends, and frees the lock then.
ib_unsettled "$IB_RUN_DIR"
settle_note=''
if [ -n "$IB_UNSET" ]; then
	ib_read "$IB_RUN_DIR/start"
	ib_now
	case $IB_VAL in
	'' | *[!0123456789]*) IB_VAL=0 ;;
	esac
	if [ "$IB_NOW" -lt $((IB_VAL + S_BUDGET * 100)) ]; then
		settle_note="; the killed freeze of $IB_UNSET may still land: the watchdog checks until +${S_BUDGET}s"
		ib_mark "$IB_RUN_DIR/settle" || :
		ib_proc_alive "$IB_RUN_DIR/watchdog.proc" || ib_spawn_watchdog "$IB_RUN"
		own_lock=0
	fi
fi
[ -n "$settle_note" ] || ib_mark "$IB_RUN_DIR/watchdog_stop" || :

# Verdict, most serious cause first.
if [ -n "$IB_THAW_BAD" ]; then
	post_done failed thaw-not-confirmed thaw-failed "snapshot not application-consistent; thaw NOT confirmed for:$IB_THAW_BAD"
fi
if [ -e "$IB_RUN_DIR/watchdog_fired" ]; then
	post_done failed watchdog-fired watchdog-fired "snapshot not application-consistent; the watchdog thawed before the post-script ran (budget ${S_BUDGET}s exceeded)"
fi
if [ -n "$IB_RESUMED_EARLY" ]; then
	post_done failed not-consistent writes-resumed-early "snapshot not application-consistent; writes resumed before this run's thaw on:$IB_RESUMED_EARLY"
fi
if [ -z "$pre_at_start" ] && [ "$attempted" = 1 ]; then
	post_done failed not-consistent pre-not-finished "snapshot not application-consistent; the pre-script was still freezing (or was killed) when the post-script started; thawed: ${IB_CAND:-nothing}$settle_note"
fi
case $pre_result in
"ok frozen"*)
	post_done ok application-consistent ok "thawed and verified: $IB_CAND"
	;;
"ok spared"*)
	post_done ok crash-consistent-allowed ok "nothing frozen: every instance is a mirror member its set's preference allows to be crash-consistent"
	;;
"ok no-instances"*)
	post_done ok no-instances ok "no running instance: nothing was frozen"
	;;
"failed "*)
	reason=${pre_result#failed }
	post_done ok not-consistent "${reason%% *}" "the pre-script failed (${reason%% *}); nothing of this run is left frozen${IB_CAND:+ (thawed: $IB_CAND)}$settle_note"
	;;
esac
post_done ok not-consistent pre-not-finished "the pre-script did not finish (${pre_result:-no result}); nothing of this run is left frozen${IB_CAND:+ (thawed: $IB_CAND)}$settle_note"
