# irisbackup pre-script: freeze every IRIS / Cache instance for an Azure VM
# snapshot.  Azure runs it as `sh /abs/path/pre-script.sh` (dash; the shebang
# is ignored); only exit 0 counts as success.  Everything goes to the log
# (<log_dir>/irisbackup.log); stdout gets one summary line.
# shellcheck source-path=SCRIPTDIR
set -u
case $0 in
*/*) IB_HOOK_DIR=${0%/*} ;;
*) IB_HOOK_DIR=. ;;
esac
# shellcheck source=common.sh
. "$IB_HOOK_DIR/common.sh"

ib_init pre-script || exit 2
IB_STARTED=$(date -u +%Y%m%dT%H%M%SZ)
IB_RUN=$IB_STARTED-$$
IB_RUN_DIR=''

pre_fail() {
	ib_log "FAILED: $*"
	if [ -n "$IB_RUN_DIR" ]; then
		printf 'failed: %s\n' "$*" >"$IB_RUN_DIR/pre_result"
	fi
	ib_summary "irisbackup pre-script $IB_RUN FAILED: $* (see $IB_LOG)"
	exit 1
}

# pre_too_late: the runner has stopped waiting for us (deadline passed or the
# post-script of this run has started).  Deadline = azure_timeout_seconds
# from our start, less 2 s for clock granularity and process start-up.
pre_too_late() {
	[ -e "$IB_RUN_DIR/post_started" ] && return 0
	ib_now
	[ $((IB_NOW - IB_T0)) -gt $(((S_AZURE_TIMEOUT - 2) * 100)) ]
}

# pre_call_all KIND EXPR: one session call of EXPR per target instance, all at once; each exit
# status lands in $IB_RUN_DIR/KIND.<instance>, each output in out.KIND.<instance>.
pre_call_all() {
	_pids=''
	for _it in $IB_TARGETS; do
		(
			ib_call "${_it%:*}" "${_it#*:}" "$S_CALL_TIMEOUT" "$IB_RUN_DIR/out.$1.${_it%:*}" session "$2"
			printf '%s\n' "$?" >"$IB_RUN_DIR/$1.${_it%:*}"
		) 3>&- &
		_pids="$_pids $!"
	done
	for _p in $_pids; do wait "$_p"; done
}

pre_start_watchdog() {
	_sh='sh'
	[ -x /bin/sh ] && _sh=/bin/sh
	if command -v setsid >/dev/null 2>&1; then
		(
			cd / || exit 1
			setsid "$_sh" "$IB_DIR/watchdog.sh" "$IB_RUN" </dev/null >>"$IB_LOG" 2>&1 3>&- &
			printf '%s\n' "$!" >"$IB_RUN_DIR/watchdog.pid"
		)
	else
		(
			cd / || exit 1
			"$_sh" "$IB_DIR/watchdog.sh" "$IB_RUN" </dev/null >>"$IB_LOG" 2>&1 3>&- &
			printf '%s\n' "$!" >"$IB_RUN_DIR/watchdog.pid"
		)
	fi
}

# Per-run record first (so that our lock is never judged stale), then the lock.
# One mkdir for both (it creates them in this order; saves a fork): when the
# lock exists already only the run directory is made.  A lock without its
# 'run' file yet is given a second before anyone judges it stale.
IB_RUN_DIR="$IB_RUNS/$IB_RUN"
IB_LOCK_TAKEN=0
if mkdir "$IB_RUN_DIR" "$IB_LOCK" 2>/dev/null; then
	IB_LOCK_TAKEN=1
elif [ ! -d "$IB_RUN_DIR" ]; then
	IB_RUN_DIR=''
	pre_fail "cannot create run directory under $IB_RUNS"
fi
printf '%s\n' "$$" >"$IB_RUN_DIR/pre_pid"
printf '%s\n' "$PPID" >"$IB_RUN_DIR/runner_ppid"
printf '%s\n' "$IB_T0" >"$IB_RUN_DIR/start"
ib_header "start (azure timeout ${S_AZURE_TIMEOUT}s, call limit ${S_CALL_TIMEOUT}s, watchdog budget ${S_BUDGET}s, WDSuspendLimit ${S_WDL}s, ExternalFreezeTimeOut ${S_EFT}s)"

if ! ib_lock_acquire; then
	pre_fail "$IB_ERR"
fi

if ! ib_check_creds; then
	pre_fail "$IB_ERR"
fi

if ! ib_discover; then
	pre_fail "$IB_ERR"
fi
printf '%s\n' "$IB_TARGETS" >"$IB_RUN_DIR/instances"
if [ -z "$IB_TARGETS" ]; then
	ib_log "no running IRIS or Cache instance found: nothing to freeze"
	printf 'ok\n' >"$IB_RUN_DIR/pre_result"
	ib_summary "irisbackup pre-script $IB_RUN: no running instance, nothing frozen"
	exit 0
fi
ib_log "instances: $IB_TARGETS"

# Each must be up, reachable with our authentication, and not already frozen.
pre_call_all check "$IB_SUSPENDED_EXPR"
bad=''
for it in $IB_TARGETS; do
	n=${it%:*}
	ib_read "$IB_RUN_DIR/check.$n"
	case $IB_VAL in
	3) ;;
	5)
		ib_log "instance $n is already frozen (not by this run): not touching it"
		bad="$bad $n(already-frozen)"
		;;
	*)
		ib_explain "$IB_VAL" "$n" "IsWDSuspendedExt (is it up?)" "$IB_RUN_DIR/out.check.$n"
		bad="$bad $n(unreachable)"
		;;
	esac
done
if [ -n "$bad" ]; then
	pre_fail "not freezing anything:$bad"
fi

# The watchdog guards every freeze below, even if this script is killed.
pre_start_watchdog

# Record the attempts before the last deadline check: the post-script writes
# post_started before it reads attempts, so one of us always sees the other.
for it in $IB_TARGETS; do
	printf '%s\n' "${it#*:}" >"$IB_RUN_DIR/attempt.${it%:*}"
done
ib_now
printf '%s\n' "$IB_NOW" >"$IB_RUN_DIR/freeze_start"
if pre_too_late; then
	for it in $IB_TARGETS; do rm -f "$IB_RUN_DIR/attempt.${it%:*}"; done
	ib_kill_watchdog "$IB_RUN_DIR"
	pre_fail "azure timeout reached before freezing; nothing frozen"
fi

freeze_expr="$IB_FREEZE_EXPR_PREFIX(\"\",\"\",1,10,0,0,$S_EFT,,,$S_WDL)"
ib_log "freezing in parallel: $freeze_expr"
pre_call_all freeze "$freeze_expr"

bad=''
frozen=''
for it in $IB_TARGETS; do
	n=${it%:*}
	ib_read "$IB_RUN_DIR/freeze.$n"
	if [ "$IB_VAL" = 5 ]; then
		frozen="$frozen $n"
	else
		ib_explain "$IB_VAL" "$n" ExternalFreeze "$IB_RUN_DIR/out.freeze.$n"
		bad="$bad $n"
	fi
done

if [ -n "$bad" ] || pre_too_late; then
	if [ -n "$bad" ]; then
		why="ExternalFreeze failed for:$bad"
	else
		why="freeze finished after the azure timeout (${S_AZURE_TIMEOUT}s) or after the post-script started"
	fi
	ib_log "$why; thawing what this run froze:${frozen:- nothing}"
	ib_candidates "$IB_RUN_DIR"
	ib_thaw_all "$IB_RUN_DIR" pre-rollback "$IB_CAND"
	if [ -z "$IB_THAW_BAD" ]; then
		ib_kill_watchdog "$IB_RUN_DIR"
	else
		ib_log "rollback could not confirm the thaw of:$IB_THAW_BAD; the watchdog stays armed"
	fi
	pre_fail "$why"
fi

# Success: leave a record of what this run froze and when.
ib_now
{
	printf 'run %s\n' "$IB_RUN"
	printf 'frozen_at_uptime_cs %s\n' "$IB_NOW"
	printf 'run_started_at %s\n' "$IB_STARTED"
	for it in $IB_TARGETS; do printf 'instance %s %s\n' "${it%:*}" "${it#*:}"; done
} >"$IB_RUN_DIR/frozen"
printf 'ok\n' >"$IB_RUN_DIR/pre_result"
ib_log "all frozen:$frozen"
ib_summary "irisbackup pre-script $IB_RUN: frozen$frozen"
exit 0
