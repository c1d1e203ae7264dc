# shellcheck shell=sh
# shellcheck disable=SC2034 # IB_* results are read by the scripts that source this
# irisbackup: run records, process identity, the lock, thawing and the
# verdict line.  Sourced after common.sh by pre-script.sh, post-script.sh,
# watchdog.sh and install.sh.  POSIX sh (dash).
#
# Per-run directory $S_STATE_DIR/runs/<run id>/ (every write is checked):
#   boot            boot id when the run started
#   runner.proc     "PID START" of the runner process (the extension's PluginHost)
#   pre.proc watchdog.proc post.proc   "PID START" of each script of the run
#   start freeze_start                 uptime (centiseconds)
#   release                            the release directory the run's scripts come from
#   instances                          the targets, "NAME:product ..."
#   attempt.KEY                        KEY = NAME.product: empty marker, made before the freeze
#                                      (a name needs no data block: a full disk still
#                                      records it, or the freeze is not attempted)
#   freeze.KEY check.KEY               exit status of those calls
#   thaw.KEY                           thawed | not-frozen | resumed-early | failed
#   landed.KEY                         a call of ours saw that instance's freeze land
#   pre_result post_result             "<status> <reason> [text]"
#   post_started watchdog_stop watchdog_fired recovered   markers
#   settle                             killed freezes may still land: the watchdog
#                                      watches them until the budget ends
# $S_STATE_DIR/runners/<boot>.<pid>.<start> names the run a runner process
# started: the post-script finds ITS run there, whoever holds the lock.
# Lock: $S_STATE_DIR/lock/ (mkdir is atomic) holding 'run' = run id.
# START is field 22 of /proc/PID/stat: with the boot id it tells a process
# apart from a later one that reuses its PID.  No process is ever signalled.

# Test-only: a file standing in for the kernel's boot id, so that a test can
# simulate a reboot.  Nothing the installer writes sets it.
IB_BOOT_ID_FILE=${IRISBACKUP_TEST_BOOT_ID_FILE:-/proc/sys/kernel/random/boot_id}

ib_boot_id() {
	IB_BOOT=''
	IFS= read -r IB_BOOT <"$IB_BOOT_ID_FILE" 2>/dev/null || :
	case $IB_BOOT in
	'' | *[!0123456789abcdef-]*) IB_BOOT=unknown ;;
	esac
}

ib_read() { # FILE -> IB_VAL (first line, empty when missing)
	IB_VAL=''
	[ -f "$1" ] || return 1
	IFS= read -r IB_VAL <"$1" || [ -n "$IB_VAL" ]
}

# State writes happen in a subshell: a redirect that fails on a special
# builtin (`: >FILE`) exits a POSIX shell, and no failed write may ever stop a
# script before its thaw.  A failure (disk full, out of inodes, read-only) is
# logged, returns 1 and sets IB_STATE_BAD=1, which turns the verdict into
# state-write-failed.
IB_STATE_BAD=0

# ib_put FILE TEXT: write one line, checked.
ib_put() {
	(printf '%s\n' "$2" >"$1") 2>/dev/null && return 0
	IB_STATE_BAD=1
	ib_log "cannot write $1 (disk full, out of inodes or read-only?)"
	return 1
}

# ib_mark FILE: create an empty marker file, checked.
ib_mark() {
	(printf '' >"$1") 2>/dev/null && return 0
	IB_STATE_BAD=1
	ib_log "cannot create $1 (disk full, out of inodes or read-only?)"
	return 1
}

# ib_proc_start PID -> IB_VAL: the start time (/proc/PID/stat field 22) of a
# process that still runs (not a zombie waiting to be reaped).
ib_proc_start() {
	IB_VAL=''
	case $1 in '' | *[!0123456789]*) return 1 ;; esac
	IFS= read -r _ib_ps 2>/dev/null <"/proc/$1/stat" || return 1
	# Field 2 (the command name) may hold spaces and ')': cut after the last ') '.
	_ib_ps=${_ib_ps##*) }
	set -f
	# shellcheck disable=SC2086 # split on spaces on purpose; globbing is off
	set -- $_ib_ps
	set +f
	[ "$#" -ge 20 ] || return 1
	# Field 3, the state: a zombie (Z) or dead (X) process runs no more.
	case $1 in Z* | X*) return 1 ;; esac
	shift 19
	IB_VAL=$1
}

# ib_proc_self -> IB_VAL: the PID /proc gives this shell (field 1 of
# /proc/self/stat, read by the shell itself: no child in between).
ib_proc_self() {
	IB_VAL=''
	IFS=' ' read -r IB_VAL _ib_ps 2>/dev/null </proc/self/stat || :
}

# ib_proc_alive FILE: the process recorded in FILE ("PID START") still runs.
# Callers check the run's boot id first (ib_same_boot).
ib_proc_alive() {
	ib_read "$1" || return 1
	_ib_want=$IB_VAL
	ib_proc_start "${_ib_want%% *}" || return 1
	[ "${_ib_want%% *} $IB_VAL" = "$_ib_want" ]
}

# ib_put_proc FILE PID: record PID's identity in FILE.
ib_put_proc() {
	ib_proc_start "$2" || {
		ib_log "cannot read /proc/$2/stat"
		return 1
	}
	ib_put "$1" "$2 $IB_VAL"
}

ib_same_boot() { # run dir
	ib_read "$1/boot" && [ "$IB_VAL" = "$IB_BOOT" ]
}

# ib_run_active DIR: the run may still act: same boot and one of its scripts
# alive, or its runner alive within the budget (its post-script may come).
ib_run_active() {
	ib_same_boot "$1" || return 1
	for _ib_pf in pre watchdog post; do
		ib_proc_alive "$1/$_ib_pf.proc" && return 0
	done
	[ -f "$1/post_result" ] && return 1
	ib_proc_alive "$1/runner.proc" || return 1
	ib_read "$1/start" || return 1
	ib_now
	[ $((IB_NOW - IB_VAL)) -lt $(((S_BUDGET + 4 * IB_STEP) * 100)) ]
}

# ib_runner_key PID -> IB_VAL: index name of the runner process PID in this boot.
ib_runner_key() {
	ib_proc_start "$1" || return 1
	IB_VAL="$IB_BOOT.$1.$IB_VAL"
}

# ---------------------------------------------------------------- lock
# ib_lock_acquire: take the lock for IB_RUN.  A stale lock (its run no longer
# active) is recovered: after a reboot at once; otherwise only when nothing of
# that run may still be frozen - if something may be, its watchdog is started
# at once to thaw it (the lock stays with that run) and this run touches nothing.
ib_lock_acquire() {
	_ib_try=0
	while [ "$_ib_try" -lt 3 ]; do
		_ib_try=$((_ib_try + 1))
		if mkdir "$IB_LOCK" 2>/dev/null; then
			ib_put "$IB_LOCK/run" "$IB_RUN" && return 0
			rm -rf "$IB_LOCK"
			IB_ERR="cannot record the lock's owner" IB_REASON=state-write-failed
			return 1
		fi
		ib_read "$IB_LOCK/run"
		_ib_owner=$IB_VAL
		if [ -z "$_ib_owner" ]; then
			# Owner is between mkdir and writing its id: give it a moment.
			sleep 1
			ib_read "$IB_LOCK/run"
			_ib_owner=$IB_VAL
		fi
		IB_REASON=lock-held
		if [ -n "$_ib_owner" ] && ib_valid_run_id "$_ib_owner" && ib_run_active "$IB_RUNS/$_ib_owner"; then
			IB_ERR="another run ($_ib_owner) is active; not touching its instances"
			return 1
		fi
		_ib_od="$IB_RUNS/$_ib_owner"
		if [ -n "$_ib_owner" ] && ib_valid_run_id "$_ib_owner" && ib_same_boot "$_ib_od"; then
			ib_candidates "$_ib_od"
			if [ -n "$IB_CAND" ]; then
				ib_log "stale run $_ib_owner (its processes are gone) may have left frozen:$IB_CAND; starting its watchdog to thaw them now"
				ib_mark "$_ib_od/recovered" || :
				ib_spawn_watchdog "$_ib_owner" now
				IB_ERR="stale run $_ib_owner may have left instances frozen; its watchdog thaws them now; this run touches nothing"
				IB_REASON=stale-run-frozen
				return 1
			fi
			_ib_why="its processes are gone; nothing of it is frozen"
		else
			_ib_why="from before a reboot, or without a record"
		fi
		# Stale: move it aside atomically, check we moved what we judged, drop it.
		_ib_aside="$IB_LOCK.stale.$$"
		if mv "$IB_LOCK" "$_ib_aside" 2>/dev/null; then
			ib_read "$_ib_aside/run"
			if [ "$IB_VAL" != "$_ib_owner" ]; then
				mv "$_ib_aside" "$IB_LOCK" 2>/dev/null || :
				continue
			fi
			rm -rf "$_ib_aside"
			ib_log "recovered stale lock of run ${_ib_owner:-<unknown>} ($_ib_why)"
		fi
	done
	IB_ERR="could not take the lock $IB_LOCK" IB_REASON=lock-held
	return 1
}

ib_lock_release() { # only when it is still ours
	ib_read "$IB_LOCK/run"
	[ "$IB_VAL" = "$IB_RUN" ] || return 0
	rm -rf "$IB_LOCK"
}

# ib_spawn_watchdog RUN [now]: start watchdog.sh for RUN detached (own
# session, stdio on the log), so a kill of the runner's process group does
# not take it.  Without setsid it is started anyway, attached, and the log
# says so (the self-check fails on such a VM).
ib_spawn_watchdog() {
	_ib_sh='sh'
	[ -x /bin/sh ] && _ib_sh=/bin/sh
	if command -v setsid >/dev/null 2>&1; then
		(cd / && setsid "$_ib_sh" "$IB_DIR/watchdog.sh" "$@" </dev/null >>"$IB_LOG" 2>&1 3>&- &)
	else
		ib_log "WARNING: setsid not found: the watchdog of run $1 stays in the runner's process group; a kill of that group would stop it (install util-linux)"
		(cd / && "$_ib_sh" "$IB_DIR/watchdog.sh" "$@" </dev/null >>"$IB_LOG" 2>&1 3>&- &)
	fi
}

# ---------------------------------------------------------------- thaw
# An instance is its product and its name (IRIS and Cache may both have a
# PROD): every per-instance record is keyed NAME.product.
# Which instances of a run may be frozen by it: every attempted freeze that
# did not answer the documented failure (3) - an answer of 5, a killed or
# hung call, any other code, or no answer recorded - and that no step of
# this run has thawed or found not frozen yet.
# ib_candidates DIR -> IB_CAND ("NAME:product ...")
ib_candidates() {
	IB_CAND=''
	for _ib_a in "$1"/attempt.*; do
		ib_attempt_key "$_ib_a" || continue
		if ib_read "$1/thaw.$_ib_k"; then
			case $IB_VAL in thawed | not-frozen) continue ;; esac
		fi
		if ib_read "$1/freeze.$_ib_k" && [ "$IB_VAL" = 3 ]; then continue; fi
		IB_CAND="${IB_CAND:+$IB_CAND }$_ib_nm:$_ib_pr"
	done
}

# ib_attempt_key PATH: _ib_k, _ib_nm, _ib_pr of an attempt.NAME.product marker; 1 if unusable.
ib_attempt_key() {
	[ -e "$1" ] || return 1
	_ib_k=${1##*/attempt.}
	_ib_nm=${_ib_k%.*} _ib_pr=${_ib_k##*.}
	ib_valid_name "$_ib_nm" || return 1
	case $_ib_pr in iris | cache) return 0 ;; esac
	return 1
}

# ib_unsettled DIR -> IB_UNSET ("NAME:product ..."): attempted freezes whose
# call was killed or never reported (no status, 124, or killed by a signal)
# and that no call of this run has seen land.  The server side of such a
# call can still freeze the instance after a thaw was verified (IRIS in a
# container behind `docker exec`: killing the client does not stop it), so
# the watchdog keeps checking them until the budget ends (ib_settle).
ib_unsettled() {
	IB_UNSET=''
	for _ib_a in "$1"/attempt.*; do
		ib_attempt_key "$_ib_a" || continue
		[ -e "$1/landed.$_ib_k" ] && continue
		ib_read "$1/freeze.$_ib_k"
		case $IB_VAL in
		'' | 124 | 129 | 1[3456789][0123456789] | 2[012345][0123456789]) ;;
		*) continue ;;
		esac
		IB_UNSET="${IB_UNSET:+$IB_UNSET }$_ib_nm:$_ib_pr"
	done
}

# ib_wait_inflight DIR: wait (bounded: one step after the freezes started)
# until every attempted freeze reported.
ib_wait_inflight() {
	ib_read "$1/freeze_start" || return 0
	_ib_limit=$((IB_VAL + (IB_STEP + 1) * 100))
	while :; do
		_ib_pending=''
		for _ib_a in "$1"/attempt.*; do
			ib_attempt_key "$_ib_a" || continue
			[ -f "$1/freeze.$_ib_k" ] || _ib_pending="$_ib_pending $_ib_nm:$_ib_pr"
		done
		[ -n "$_ib_pending" ] || return 0
		ib_now
		if [ "$IB_NOW" -ge "$_ib_limit" ]; then
			ib_log "freeze calls of$_ib_pending never reported; treating them as possibly frozen"
			return 0
		fi
		sleep 0.1
	done
}

# ib_resume_cause DIR: why writes of this run's instances resumed before its thaw.
ib_resume_cause() {
	if [ -e "$1/watchdog_fired" ]; then
		IB_VAL="the watchdog thawed it (freeze budget ${S_BUDGET}s passed)"
		return 0
	fi
	ib_read "$1/pre_result"
	case $IB_VAL in
	"ok "*) ;;
	*)
		IB_VAL="the pre-script's rollback may have thawed it (its result is not recorded: ${IB_VAL:-none})"
		return 0
		;;
	esac
	ib_read "$1/freeze_start"
	_ib_fs=$IB_VAL
	ib_now
	case $_ib_fs in
	'' | *[!0123456789]*) ;;
	*)
		if [ $((IB_NOW - _ib_fs)) -ge $((S_WDL * 100)) ]; then
			IB_VAL="IRIS resumed writes by itself (WDSuspendLimit=${S_WDL}s passed)"
			return 0
		fi
		;;
	esac
	IB_VAL="something outside this run resumed writes (an operator's stat -W or ExternalThaw, or a restart)"
}

# ib_thaw_one DIR NAME PRODUCT WHO MODE: thaw one instance this run may have frozen.
#   MODE check: IsWDSuspendedExt first (post-script, watchdog): tells a
#               resume before our thaw apart from our own; then ExternalThaw.
#   MODE thaw:  ExternalThaw first (the pre-script's rollback).
# ExternalThaw failing or hanging -> emergency stat -W; then one verification.
# At most 4 calls (check mode) or 3 (thaw mode) in sequence.
# The thaw comes first; its records (thaw.KEY = thawed | not-frozen |
# resumed-early | failed, and landed.KEY once a call saw the freeze land)
# come after and are best effort.  Returns 0 thawed, 2 not-frozen,
# 3 resumed-early, 1 failed; plus 10 when a record could not be written.
ib_thaw_one() {
	_ib_d=$1 _ib_n=$2 _ib_p=$3 _ib_who=$4
	_ib_k="$_ib_n.$_ib_p"
	_ib_o="$_ib_d/out.$_ib_who.$_ib_k"
	IB_THAW_LANDED=0
	if [ "$5" = check ]; then
		ib_call "$_ib_n" "$_ib_p" "$S_CALL_TIMEOUT" "$_ib_o.check" session "$IB_SUSPENDED_EXPR"
		_ib_rc=$?
		case $_ib_rc in
		3)
			if ib_read "$_ib_d/freeze.$_ib_k" && [ "$IB_VAL" = 5 ]; then
				ib_resume_cause "$_ib_d"
				ib_log "instance $_ib_n:$_ib_p was no longer suspended when the $_ib_who came to thaw it: $IB_VAL"
				ib_thaw_record resumed-early
				return $((3 + IB_THAW_BADREC))
			fi
			ib_log "instance $_ib_n:$_ib_p is not suspended: nothing to thaw"
			ib_thaw_record not-frozen
			return $((2 + IB_THAW_BADREC))
			;;
		5)
			IB_THAW_LANDED=1
			ib_session_thaw "$_ib_n" "$_ib_p" "$_ib_o"
			;;
		*)
			ib_explain "$_ib_rc" "$_ib_n:$_ib_p" IsWDSuspendedExt "$_ib_o.check"
			ib_emergency_thaw "$_ib_n" "$_ib_p" "$_ib_o"
			;;
		esac
	else
		ib_session_thaw "$_ib_n" "$_ib_p" "$_ib_o"
	fi
	ib_call "$_ib_n" "$_ib_p" "$S_CALL_TIMEOUT" "$_ib_o.verify" session "$IB_SUSPENDED_EXPR"
	_ib_rc=$?
	if [ "$_ib_rc" = 3 ]; then
		ib_log "instance $_ib_n:$_ib_p verified: writes resumed"
		ib_thaw_record thawed
		return $((0 + IB_THAW_BADREC))
	fi
	ib_explain "$_ib_rc" "$_ib_n:$_ib_p" "IsWDSuspendedExt after the thaw" "$_ib_o.verify"
	if [ "$_ib_rc" = 5 ]; then
		ib_log "instance $_ib_n:$_ib_p: still suspended after the thaw; it stays frozen until WDSuspendLimit=${S_WDL}s (manual: iris stat $_ib_n -W)"
	elif [ "${IB_STATW_RC-}" = 0 ]; then
		ib_log "instance $_ib_n:$_ib_p: stat -W answered 0 but writes resuming could not be verified (the check failed with exit $_ib_rc); thaw not confirmed"
	else
		ib_log "instance $_ib_n:$_ib_p: thaw NOT confirmed; it may still be frozen (IRIS resumes by itself after WDSuspendLimit=${S_WDL}s)"
	fi
	ib_thaw_record failed
	return $((1 + IB_THAW_BADREC))
}

# ib_thaw_record RESULT: thaw.KEY (and landed.KEY) of ib_thaw_one, after its calls.
ib_thaw_record() {
	IB_THAW_BADREC=0
	if [ "$IB_THAW_LANDED" = 1 ]; then
		ib_mark "$_ib_d/landed.$_ib_k" || IB_THAW_BADREC=10
	fi
	ib_put "$_ib_d/thaw.$_ib_k" "$1" || IB_THAW_BADREC=10
}

# ib_session_thaw NAME PRODUCT OUTPREFIX: ExternalThaw, emergency stat -W if it did not answer 5.
ib_session_thaw() {
	IB_STATW_RC=''
	ib_call "$1" "$2" "$S_CALL_TIMEOUT" "$3.thaw" session "$IB_THAW_EXPR"
	_ib_trc=$?
	if [ "$_ib_trc" = 5 ]; then
		ib_log "ExternalThaw of instance $1:$2 succeeded"
		IB_THAW_LANDED=1
		return 0
	fi
	ib_explain "$_ib_trc" "$1:$2" ExternalThaw "$3.thaw"
	ib_emergency_thaw "$1" "$2" "$3"
}

ib_emergency_thaw() { # name product outprefix
	if [ "$2" = iris ]; then _ib_sw="iris stat $1 -W"; else _ib_sw="ccontrol stat $1 -W"; fi
	ib_log "instance $1:$2: emergency thaw with '$_ib_sw'"
	ib_call "$1" "$2" "$S_CALL_TIMEOUT" "$3.statW" stat
	IB_STATW_RC=$?
	[ "$IB_STATW_RC" = 0 ] || ib_explain "$IB_STATW_RC" "$1:$2" "$_ib_sw" "$3.statW"
}

# ib_thaw_all DIR WHO MODE LIST: thaw LIST ("NAME:product ...") in parallel.
# Sets IB_THAW_BAD and IB_RESUMED_EARLY ("NAME:product" items), and
# IB_STATE_BAD=1 when a thaw's record could not be written.
ib_thaw_all() {
	_ib_td=$1 _ib_tw=$2 _ib_tm=$3 _ib_list=$4
	_ib_pids=''
	for _ib_it in $_ib_list; do
		ib_thaw_one "$_ib_td" "${_ib_it%:*}" "${_ib_it#*:}" "$_ib_tw" "$_ib_tm" 3>&- &
		_ib_pids="$_ib_pids $_ib_it=$!"
	done
	IB_THAW_BAD='' IB_RESUMED_EARLY=''
	for _ib_pd in $_ib_pids; do
		wait "${_ib_pd#*=}"
		_ib_rc=$?
		if [ "$_ib_rc" -ge 10 ]; then
			IB_STATE_BAD=1
			_ib_rc=$((_ib_rc - 10))
		fi
		case $_ib_rc in
		0 | 2) ;;
		3) IB_RESUMED_EARLY="$IB_RESUMED_EARLY ${_ib_pd%=*}" ;;
		*) IB_THAW_BAD="$IB_THAW_BAD ${_ib_pd%=*}" ;;
		esac
	done
}

# ib_settle DIR WHO: until every unsettled freeze of the run (ib_unsettled)
# was seen to land and was thawed, or until the freeze budget ends (at most
# one round - 4 steps - past it): check each once a second and thaw it the
# moment it is suspended.  IB_LATE := instances whose late freeze landed and
# were thawed; IB_THAW_BAD as ib_thaw_all.
ib_settle() {
	IB_LATE='' _ib_bad='' IB_UNSET=''
	ib_read "$1/start"
	case $IB_VAL in
	'' | *[!0123456789]*) ib_now; IB_VAL=$IB_NOW ;;
	esac
	_ib_until=$((IB_VAL + S_BUDGET * 100))
	while :; do
		ib_unsettled "$1"
		[ -n "$IB_UNSET" ] || break
		_ib_bad=''
		for _ib_it in $IB_UNSET; do
			ib_call "${_ib_it%:*}" "${_ib_it#*:}" "$S_CALL_TIMEOUT" /dev/null session "$IB_SUSPENDED_EXPR"
			[ "$?" = 3 ] && continue
			ib_log "instance $_ib_it: its killed freeze has landed (or cannot be checked): thawing it"
			ib_thaw_all "$1" "$2" check "$_ib_it"
			if [ -n "$IB_THAW_BAD" ]; then
				_ib_bad="$_ib_bad$IB_THAW_BAD"
			else
				IB_LATE="$IB_LATE $_ib_it"
			fi
		done
		ib_now
		[ "$IB_NOW" -lt "$_ib_until" ] || break
		sleep 1
	done
	IB_THAW_BAD=$_ib_bad
	[ -z "$IB_UNSET" ] || ib_log "the killed freeze of $IB_UNSET did not land within the freeze budget (${S_BUDGET}s); IRIS resumes by itself after WDSuspendLimit=${S_WDL}s if it lands later"
}

# ---------------------------------------------------------------- verdict
# ib_verdict VERDICT REASON "NAME:product ...": one syslog line for issue 12's
# alerts (format in docs/hooks.md; each instance as NAME:product), also copied to our log.  Called only after
# every thaw of the script, so it never lengthens a freeze; a missing or
# failing logger is logged and ignored (bounded by timeout).
ib_verdict() {
	_ib_names=''
	for _ib_it in $3; do
		_ib_names="${_ib_names:+$_ib_names,}\"$_ib_it\""
	done
	ib_mirror_verdict_part
	_ib_json="{\"v\":$IB_VERDICT_V,\"event\":\"verdict\",\"run\":\"$IB_RUN\",\"script\":\"${IB_SCRIPT%-script}\",\"version\":\"$S_VERSION\",\"instances\":[$_ib_names],\"verdict\":\"$1\",\"reason\":\"$2\"$IB_MIRROR_PART}"
	_ib_sev=err
	[ "$1" = application-consistent ] && _ib_sev=notice
	ib_log "verdict $_ib_json"
	if ! command -v logger >/dev/null 2>&1; then
		ib_log "logger not found on PATH $PATH: verdict not sent to syslog"
		return 0
	fi
	if [ "${IB_HAVE_TIMEOUT-1}" = 1 ]; then
		timeout -k 1 5 logger -t irisbackup -p "user.$_ib_sev" -- "$_ib_json" </dev/null >/dev/null 2>&1 3>&-
	else
		logger -t irisbackup -p "user.$_ib_sev" -- "$_ib_json" </dev/null >/dev/null 2>&1 3>&-
	fi
	_ib_lrc=$?
	[ "$_ib_lrc" = 0 ] || ib_log "logger failed (exit $_ib_lrc): verdict not sent to syslog"
	return 0
}
