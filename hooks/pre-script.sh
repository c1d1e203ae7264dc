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
# shellcheck source=state.sh
. "$IB_HOOK_DIR/state.sh"

ib_init pre-script || exit 2
IB_STARTED=$(date -u +%Y%m%dT%H%M%SZ)
IB_RUN=$IB_STARTED-$$
IB_RUN_DIR=''
IB_TARGETS=''
# Azure's plugin host may cap the script below azure_timeout_seconds.
ib_azure_limit "$S_ROOT/etc/azure/VMSnapshotPluginHost.conf"

# pre_fail REASON TEXT: record, log, syslog verdict (after any rollback), exit 1.
pre_fail() {
	ib_log "FAILED: $2"
	[ -z "$IB_RUN_DIR" ] || ib_put "$IB_RUN_DIR/pre_result" "failed $1 $2" || :
	_v=not-consistent
	case $1 in lock-held | stale-run-frozen) _v=rejected ;; esac
	ib_verdict "$_v" "$1" "$IB_TARGETS"
	ib_summary "irisbackup pre-script $IB_RUN FAILED: $2 (see $IB_LOG)"
	exit 1
}

# pre_too_late: the runner has stopped waiting for us (deadline passed or the
# post-script of this run has started).  Deadline = the timeout Azure really
# applies (IB_AZURE_TIMEOUT: azure_timeout_seconds, or the plugin host's
# lower one) from our start, less 2 s for clock granularity and process start-up.
pre_too_late() {
	[ -e "$IB_RUN_DIR/post_started" ] && return 0
	ib_now
	[ $((IB_NOW - IB_T0)) -gt $(((IB_AZURE_TIMEOUT - 2) * 100)) ]
}

# pre_call_all KIND EXPR: one session call of EXPR per target instance, all at once; each exit
# status lands in $IB_RUN_DIR/KIND.<NAME.product>, each output in out.KIND.<NAME.product>.
pre_call_all() {
	_pids=''
	for _it in $IB_TARGETS; do
		(
			ib_call "${_it%:*}" "${_it#*:}" "$S_CALL_TIMEOUT" "$IB_RUN_DIR/out.$1.${_it%:*}.${_it#*:}" session "$2"
			(printf '%s\n' "$?" >"$IB_RUN_DIR/$1.${_it%:*}.${_it#*:}") 2>/dev/null
		) 3>&- &
		_pids="$_pids $!"
	done
	for _p in $_pids; do wait "$_p"; done
}

# pre_freeze_slot CHECK_CS: wait, before freezing, for the last safe moment
# before the runner's first poll.  Azure's PluginHost sleeps one poll before it
# first looks at the script's thread, and ScriptRunner's thread polls the
# script one poll after starting it (VMBackup/main/PluginHost.py, ScriptRunner.py
# in Azure/azure-linux-extensions): the snapshot cannot start before two polls
# after our start, whether we end at +0.1 s or just before +1 poll.  Freezing
# late in that interval shortens the freeze and moves nothing else.  The
# freeze must end before the first poll: we leave twice the IsWDSuspendedExt
# call's duration (the same session start-up) plus 0.15 s.  A runner polling
# slower than runner_poll_seconds only makes the margin larger.
pre_freeze_slot() {
	ib_now
	_slot=$((IB_T0 + S_POLL * 100 - 15 - 2 * $1))
	_wait=$((_slot - IB_NOW))
	[ "$_wait" -gt 0 ] || return 0
	ib_log "freezing at +$((_slot - IB_T0))cs, just before the runner's first poll (+${S_POLL}s)"
	sleep "$((_wait / 100)).$((_wait / 10 % 10))$((_wait % 10))"
}

# pre_rollback WHY: thaw what this run may have frozen, then fail.
pre_rollback() {
	ib_log "$2; thawing what this run may have frozen"
	ib_candidates "$IB_RUN_DIR"
	ib_thaw_all "$IB_RUN_DIR" pre-script-rollback thaw "$IB_CAND"
	ib_unsettled "$IB_RUN_DIR"
	if [ -n "$IB_UNSET" ]; then
		# Verified thawed now, but a killed freeze may still land: the watchdog watches.
		ib_log "the freeze call of $IB_UNSET was killed or never answered; it may still land: the watchdog checks until +${S_BUDGET}s"
		ib_mark "$IB_RUN_DIR/settle" || :
	fi
	if [ -z "$IB_THAW_BAD" ]; then
		[ -n "$IB_UNSET" ] || ib_mark "$IB_RUN_DIR/watchdog_stop" || :
		pre_fail "$1" "$2"
	fi
	ib_log "rollback could not confirm the thaw of:$IB_THAW_BAD; the watchdog stays armed"
	pre_fail thaw-failed "$2; rollback thaw NOT confirmed for:$IB_THAW_BAD"
}

# The run record first (so that our lock is never judged stale), with who we
# are: boot id, this script and the runner that started it.  The runner index
# lets the post-script of the same runner find this run whoever holds the lock.
# The id is the UTC start and our PID; after a clock step back the same
# second and PID may come again, so an id already taken gets a suffix.
IB_RUN_DIR="$IB_RUNS/$IB_RUN"
for sfx in 1 2 3; do
	mkdir "$IB_RUN_DIR" 2>/dev/null && break
	if [ "$sfx" = 3 ] || [ ! -d "$IB_RUN_DIR" ]; then
		IB_RUN_DIR=''
		pre_fail state-write-failed "cannot create run directory under $IB_RUNS"
	fi
	IB_RUN=$IB_STARTED-$$$sfx
	IB_RUN_DIR="$IB_RUNS/$IB_RUN"
done
ib_header "start (azure timeout ${IB_AZURE_TIMEOUT}s, call limit ${S_CALL_TIMEOUT}s, watchdog budget ${S_BUDGET}s, WDSuspendLimit ${S_WDL}s, ExternalFreezeTimeOut ${S_EFT}s, runner poll ${S_POLL}s)"
# Process identities come from /proc: one of another PID namespace (a
# container with the host's /proc) would name other processes.
ib_proc_self
if [ "$IB_VAL" != "$$" ]; then
	pre_fail pid-namespace-mismatch "/proc belongs to another PID namespace (it shows this script as PID ${IB_VAL:-?}, not $$): process identities cannot be checked; not freezing anything"
fi
if ! { ib_put "$IB_RUN_DIR/boot" "$IB_BOOT" &&
	ib_put "$IB_RUN_DIR/release" "$IB_DIR" &&
	ib_put_proc "$IB_RUN_DIR/pre.proc" "$$" &&
	ib_put_proc "$IB_RUN_DIR/runner.proc" "$PPID" &&
	ib_put "$IB_RUN_DIR/start" "$IB_T0" &&
	ib_runner_key "$PPID" &&
	ib_put "$IB_RUNNERS/$IB_VAL" "$IB_RUN"; }; then
	pre_fail state-write-failed "cannot record this run in $IB_RUN_DIR; not freezing anything"
fi
[ -z "$IB_AZURE_NOTE" ] || ib_log "$IB_AZURE_NOTE"

if [ -n "$IB_HOST_TIMEOUT_ERR" ]; then
	pre_fail azure-timeout-too-short "$IB_HOST_TIMEOUT_ERR; not freezing anything"
fi

if [ "$IB_HAVE_TIMEOUT" != 1 ]; then
	pre_fail no-timeout-command "timeout(1) (coreutils) is not on PATH $PATH: iris calls cannot be bounded; not freezing anything"
fi

if ! ib_lock_acquire; then
	pre_fail "$IB_REASON" "$IB_ERR"
fi

if ! ib_check_creds; then
	pre_fail credentials-unusable "$IB_ERR"
fi

if ! ib_discover; then
	pre_fail "$IB_REASON" "$IB_ERR"
fi
ib_put "$IB_RUN_DIR/instances" "$IB_TARGETS" ||
	pre_fail state-write-failed "cannot record the instances to freeze; not freezing anything"
if [ -z "$IB_TARGETS" ]; then
	ib_log "no running IRIS or Cache instance found: nothing to freeze"
	ib_put "$IB_RUN_DIR/pre_result" "ok no-instances" ||
		pre_fail state-write-failed "cannot record the result"
	ib_summary "irisbackup pre-script $IB_RUN: no running instance, nothing frozen"
	exit 0
fi
ib_log "instances: $IB_TARGETS"

# Each must be up, reachable with our authentication, and not already frozen.
ib_now
check_start=$IB_NOW
# Mirror members' roles are read alongside the check (hooks/mirror.sh).
ib_mirror_start "$IB_RUN_DIR"
pre_call_all check "$IB_SUSPENDED_EXPR"
ib_now
check_cs=$((IB_NOW - check_start))
ib_mirror_finish "$IB_RUN_DIR"
if [ -n "$IB_SPARED" ]; then
	ib_put "$IB_RUN_DIR/instances" "$IB_TARGETS" ||
		pre_fail state-write-failed "cannot record the instances to freeze; not freezing anything"
	if [ -z "$IB_TARGETS" ]; then
		# Exit 1 on purpose: Azure then records the point as file-system consistent, which it is.
		ib_put "$IB_RUN_DIR/pre_result" "ok spared" || pre_fail state-write-failed "cannot record the result"
		ib_summary "irisbackup pre-script $IB_RUN: nothing frozen on purpose (mirror members spared by their set's preference: $IB_SPARED); exit 1 so that Azure records a file-system consistent point"
		exit 1
	fi
fi
bad='' reason=''
for it in $IB_TARGETS; do
	n=$it
	ib_read "$IB_RUN_DIR/check.${it%:*}.${it#*:}"
	case $IB_VAL in
	3) ;;
	5)
		ib_log "instance $n is already frozen (not by this run): not touching it"
		bad="$bad $n(already-frozen)" reason=${reason:-already-frozen}
		;;
	'')
		ib_log "IsWDSuspendedExt of instance $n: no exit status recorded (disk full?)"
		bad="$bad $n(unknown)" reason=state-write-failed
		;;
	*)
		ib_explain "$IB_VAL" "$n" "IsWDSuspendedExt (is it up?)" "$IB_RUN_DIR/out.check.${it%:*}.${it#*:}"
		bad="$bad $n(unreachable)" reason=${reason:-instance-not-up}
		;;
	esac
done
if [ -n "$bad" ]; then
	pre_fail "$reason" "not freezing anything:$bad"
fi

# The watchdog guards every freeze below, even if this script is killed: it
# must have recorded itself before anything is frozen.
ib_spawn_watchdog "$IB_RUN"
waited=0
until ib_proc_alive "$IB_RUN_DIR/watchdog.proc"; do
	# A post-script that started meanwhile stops the watchdog at once: too late anyway.
	if pre_too_late; then
		ib_mark "$IB_RUN_DIR/watchdog_stop" || :
		pre_fail pre-late "azure timeout reached or the post-script started before freezing; nothing frozen"
	fi
	if [ "$waited" -ge 50 ]; then
		ib_mark "$IB_RUN_DIR/watchdog_stop" || :
		pre_fail watchdog-not-started "the watchdog did not start within 5s; not freezing anything"
	fi
	sleep 0.1
	waited=$((waited + 1))
done

pre_freeze_slot "$check_cs"

# Record the attempts before the last deadline check: the post-script writes
# post_started before it reads attempts, so one of us always sees the other.
ib_now
ib_put "$IB_RUN_DIR/freeze_start" "$IB_NOW" || {
	ib_mark "$IB_RUN_DIR/watchdog_stop" || :
	pre_fail state-write-failed "cannot record the freeze start; not freezing anything"
}
for it in $IB_TARGETS; do
	ib_mark "$IB_RUN_DIR/attempt.${it%:*}.${it#*:}" && continue
	rm -f "$IB_RUN_DIR"/attempt.*
	ib_mark "$IB_RUN_DIR/watchdog_stop" || :
	pre_fail state-write-failed "cannot record the freeze attempts; not freezing anything"
done
if pre_too_late; then
	rm -f "$IB_RUN_DIR"/attempt.*
	ib_mark "$IB_RUN_DIR/watchdog_stop" || :
	pre_fail pre-late "azure timeout reached or the post-script started before freezing; nothing frozen"
fi

freeze_expr="$IB_FREEZE_EXPR_PREFIX(\"\",\"\",1,10,0,0,$S_EFT,,,$S_WDL)"
ib_log "freezing in parallel: $freeze_expr"
pre_call_all freeze "$freeze_expr"

bad='' reason=freeze-failed
frozen=''
for it in $IB_TARGETS; do
	n=$it
	ib_read "$IB_RUN_DIR/freeze.${it%:*}.${it#*:}"
	case $IB_VAL in
	5) frozen="$frozen $n" ;;
	'')
		ib_log "ExternalFreeze of instance $n: no exit status recorded (disk full?); it may be frozen"
		bad="$bad $n" reason=state-write-failed
		;;
	*)
		ib_explain "$IB_VAL" "$n" ExternalFreeze "$IB_RUN_DIR/out.freeze.${it%:*}.${it#*:}"
		bad="$bad $n"
		;;
	esac
done

if [ -n "$bad" ]; then
	pre_rollback "$reason" "ExternalFreeze did not answer 5 for:$bad"
fi
if pre_too_late; then
	pre_rollback pre-late "freeze finished after the azure timeout (${S_AZURE_TIMEOUT}s) or after the post-script started"
fi

# Success: leave a record of what this run froze and when.  Without it the
# post-script could not tell a finished pre-script: roll back instead.
ib_now
if ! { ib_put "$IB_RUN_DIR/frozen" "frozen_at_uptime_cs $IB_NOW instances $IB_TARGETS" &&
	ib_put "$IB_RUN_DIR/pre_result" "ok frozen"; }; then
	pre_rollback state-write-failed "cannot record the result"
fi
ib_log "all frozen:$frozen"
ib_summary "irisbackup pre-script $IB_RUN: frozen$frozen"
exit 0
