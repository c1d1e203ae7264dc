# shellcheck shell=sh
# shellcheck disable=SC2034 # S_* and IB_* are used by the scripts that source this
# irisbackup: functions shared by pre-script.sh, post-script.sh, watchdog.sh
# and install.sh: time, logging, iris calls, discovery, the verdict line.
# Settings parsing, their rules and Azure's own script limit are in
# settings.sh (sourced from here); run state, the lock and thawing are in
# state.sh.  POSIX sh (dash).
# Sourced by path, never run on its own.
#
# Rules kept throughout: no eval, settings are parsed (never sourced), every
# expansion quoted, every iris/csession/ccontrol call bounded in time.
# shellcheck source-path=SCRIPTDIR
# shellcheck source=settings.sh
. "$IB_HOOK_DIR/settings.sh"
# shellcheck source=mirror.sh
. "$IB_HOOK_DIR/mirror.sh"
# shellcheck source=creds.sh
. "$IB_HOOK_DIR/creds.sh"

IB_CR=$(printf '\r')
IB_TAB=$(printf '\t')
IB_DEFAULT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# Seconds between TERM and KILL for a call that overran its limit: one call
# lasts at most call_timeout_seconds + IB_KILL_GRACE (a "step" below).
IB_KILL_GRACE=1
IB_FREEZE_EXPR_PREFIX='##Class(Backup.General).ExternalFreeze'
IB_THAW_EXPR='##Class(Backup.General).ExternalThaw()'
IB_SUSPENDED_EXPR='##Class(Backup.General).IsWDSuspendedExt()'

# ---------------------------------------------------------------- time
# Test seam, inert on a VM: IRISBACKUP_TEST_TIME_SCALE=K (2..999) makes ib_now
# run K times faster, for the tests' clock doubles of sleep(1) and timeout(1)
# (tests/doubles/clock, first on iris_path there) that divide every duration
# by K.  Neither the installer nor Azure's runner sets it; any other value is 1.
# Why an environment knob and not a PATH shim: docs/performance.md.
case ${IRISBACKUP_TEST_TIME_SCALE-} in
[23456789] | [123456789][0123456789] | [123456789][0123456789][0123456789]) IB_TIME_SCALE=$IRISBACKUP_TEST_TIME_SCALE ;;
*) IB_TIME_SCALE=1 ;;
esac

# ib_now: IB_NOW := centiseconds on the monotonic boot clock (/proc/uptime),
# read with a builtin (no fork), shared by every process of a run.
ib_now() {
	if read -r _ib_up _ib_rest </proc/uptime 2>/dev/null; then
		_ib_s=${_ib_up%.*}
		case $_ib_up in
		*.*) _ib_f=${_ib_up#*.} ;;
		*) _ib_f=00 ;;
		esac
		case $_ib_f in
		?) _ib_f=${_ib_f}0 ;;
		??) ;;
		*) _ib_f=$(printf '%.2s' "$_ib_f") ;;
		esac
		_ib_f=${_ib_f#0}
		IB_NOW=$(((_ib_s * 100 + _ib_f) * IB_TIME_SCALE))
	else
		IB_NOW=$(($(date +%s) * 100 * IB_TIME_SCALE))
	fi
}

# ---------------------------------------------------------------- logging
# After ib_open_log, fd 1 and 2 go to the log file (append), fd 3 keeps the
# caller's stdout for one summary line.  Every child started in the
# background closes fd 3 so that nothing holds the runner's pipe open.
IB_RUN=-
IB_SCRIPT=irisbackup
IB_T0=0
ib_log() {
	ib_now
	_ib_e=$((IB_NOW - IB_T0))
	printf '%s %s[%s] +%d.%02ds %s\n' "$IB_RUN" "$IB_SCRIPT" "$IB_PID" \
		$((_ib_e / 100)) $((_ib_e % 100)) "$*"
}

# ib_log_output FILE TAG: copy (at most 20 lines of) a call's output into the log.
ib_log_output() {
	[ -s "$1" ] || return 0
	_ib_k=0
	while IFS= read -r _ib_l || [ -n "$_ib_l" ]; do
		_ib_k=$((_ib_k + 1))
		[ "$_ib_k" -le 20 ] || break
		ib_log "  $2| $_ib_l"
	done <"$1"
}

ib_summary() {
	printf '%s\n' "$*" >&3 2>/dev/null || :
}

# ib_open_log DIR: append fd 1/2 to DIR/irisbackup.log, keep stdout on fd 3.
ib_open_log() {
	if [ ! -d "$1" ]; then
		(umask 077 && mkdir -p "$1") || return 1
	fi
	IB_LOG="$1/irisbackup.log"
	umask 077
	# The watchdog (off the backup's critical path) rotates a log that grew
	# past 8 MB; one old copy is kept.
	if [ "$IB_SCRIPT" = watchdog ] && [ -f "$IB_LOG" ]; then
		if [ -n "$(find "$IB_LOG" -size +16384 2>/dev/null)" ]; then
			mv -f "$IB_LOG" "$IB_LOG.1" 2>/dev/null || :
		fi
	fi
	# exec with a redirect that fails would end the script (a special
	# builtin): a log that cannot be opened becomes /dev/null, the run goes on.
	if ! (printf '' >>"$IB_LOG") 2>/dev/null; then
		IB_LOG=/dev/null
	fi
	exec 3>&1 >>"$IB_LOG" 2>&1 </dev/null
}

# ---------------------------------------------------------------- validation
# Instance names: ^[A-Za-z][A-Za-z0-9_-]{0,63}$
ib_valid_name() {
	case $1 in
	'' | *[!ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-]*) return 1 ;;
	[ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz]*) ;;
	*) return 1 ;;
	esac
	[ "${#1}" -le 64 ]
}

# Absolute path made of [A-Za-z0-9._/-] only, no '..' component.
ib_valid_path() {
	case $1 in
	/*) ;;
	*) return 1 ;;
	esac
	case $1 in
	*[!ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/-]*) return 1 ;;
	*/../* | */.. | */./* | */.) return 1 ;;
	esac
	return 0
}

# Positive decimal integer without leading zero, at most 6 digits.
ib_valid_uint() {
	case $1 in
	'' | *[!0123456789]* | 0*) return 1 ;;
	esac
	[ "${#1}" -le 6 ]
}

ib_valid_run_id() {
	case $1 in
	[0123456789][0123456789][0123456789][0123456789][0123456789][0123456789][0123456789][0123456789]T[0123456789][0123456789][0123456789][0123456789][0123456789][0123456789]Z-[0123456789]*) ;;
	*) return 1 ;;
	esac
	case ${1#*Z-} in
	*[!0123456789]*) return 1 ;;
	esac
	return 0
}

# ---------------------------------------------------------------- runtime setup
# ib_init SCRIPTNAME: locate the release from $0, load its settings, open the log.
# Exit status 2 when the settings are unusable (message on stderr).
ib_init() {
	IB_SCRIPT=$1
	IB_PID=$$
	ib_now
	IB_T0=$IB_NOW
	case $0 in
	*/*) IB_DIR=${0%/*} ;;
	*) IB_DIR=. ;;
	esac
	if ! ib_parse_settings "$IB_DIR/settings.conf" installed; then
		printf 'irisbackup %s: %s\n' "$IB_SCRIPT" "$IB_ERR" >&2
		return 2
	fi
	PATH=$S_IRIS_PATH
	export PATH
	umask 077
	if ! ib_open_log "$S_LOG_DIR"; then
		printf 'irisbackup %s: cannot open log in %s\n' "$IB_SCRIPT" "$S_LOG_DIR" >&2
		return 2
	fi
	IB_RUNS="$S_STATE_DIR/runs"
	IB_RUNNERS="$S_STATE_DIR/runners"
	IB_LOCK="$S_STATE_DIR/lock"
	[ -d "$IB_RUNS" ] || mkdir -p "$IB_RUNS" || return 2
	[ -d "$IB_RUNNERS" ] || mkdir -p "$IB_RUNNERS" || return 2
	IB_CRED_IN=/dev/null
	ib_step
	ib_boot_id
	IB_HAVE_TIMEOUT=1
	command -v timeout >/dev/null 2>&1 || IB_HAVE_TIMEOUT=0
	return 0
}

ib_header() { # text
	ib_log "==== irisbackup $S_VERSION bundle $S_SHA $IB_SCRIPT $* pid $IB_PID ppid $PPID ===="
}

# ib_check_creds: validate the credentials file (root:root, 0600/0400) and
# point IB_CRED_IN at it.  Returns 1 with IB_ERR set when unusable.
ib_check_creds() {
	IB_CRED_IN=/dev/null
	if [ -n "$S_KV_URL" ]; then
		ib_creds_fetch && return 0
		[ -n "$S_CREDS" ] || return 1
		ib_log "$IB_ERR; falling back to credentials_file $S_CREDS"
	fi
	[ -n "$S_CREDS" ] || return 0
	if [ ! -f "$S_CREDS" ]; then
		IB_ERR="credentials_file $S_CREDS does not exist or is not a regular file"
		return 1
	fi
	# shellcheck disable=SC2012,SC2046 # ls -ln is the portable owner/mode reader; split on purpose
	set -- $(ls -lnd "$S_CREDS" 2>/dev/null)
	case ${1-} in
	-rw------- | -rw-------. | -r-------- | -r--------.) ;;
	*)
		IB_ERR="credentials_file $S_CREDS has mode ${1-?}; must be 0600 or 0400"
		return 1
		;;
	esac
	if [ "${3-}" != 0 ] || [ "${4-}" != 0 ]; then
		IB_ERR="credentials_file $S_CREDS must be owned by root:root (is ${3-?}:${4-?})"
		return 1
	fi
	IB_CRED_IN=$S_CREDS
	return 0
}

# ---------------------------------------------------------------- iris calls
# ib_call NAME PRODUCT SECONDS OUTFILE OP [EXPR]
#   OP session: iris session NAME -U %SYS EXPR | csession NAME -U%SYS EXPR
#      stat:    iris stat NAME -W              | ccontrol stat NAME -W
#      qlist:   iris qlist                     | ccontrol qlist
# Bounded with coreutils timeout(1): coreutils is part of every Ubuntu, Debian,
# RHEL and SLES image that Azure Backup supports, and timeout(1) puts the call
# in its own process group and signals the whole group, so the children that
# `iris session` spawns die with it (TERM, then KILL after IB_KILL_GRACE).
# Standard input is /dev/null (OS authentication) or the credentials file, so a
# login prompt reads end-of-file instead of waiting for a terminal.
# Returns the call's exit status; 124/137 mean the limit was hit.
ib_call() {
	_ib_cn=$1 _ib_cp=$2 _ib_ct=$3 _ib_co=$4 _ib_op=$5 _ib_x=${6-}
	_ib_in=/dev/null
	case $_ib_op in
	session)
		_ib_in=$IB_CRED_IN
		if [ "$_ib_cp" = iris ]; then
			set -- iris session "$_ib_cn" -U %SYS "$_ib_x"
		else
			set -- csession "$_ib_cn" -U%SYS "$_ib_x"
		fi
		;;
	stat)
		if [ "$_ib_cp" = iris ]; then
			set -- iris stat "$_ib_cn" -W
		else
			set -- ccontrol stat "$_ib_cn" -W
		fi
		;;
	code)
		# ObjectScript on stdin (ib_session_input), after the credentials.
		if [ "$_ib_cp" = iris ]; then
			set -- iris session "$_ib_cn" -U %SYS
		else
			set -- csession "$_ib_cn" -U%SYS
		fi
		;;
	qlist)
		if [ "$_ib_cp" = iris ]; then
			set -- iris qlist
		else
			set -- ccontrol qlist
		fi
		;;
	*) return 99 ;;
	esac
	# Never unbounded: without timeout(1) the call is not made (125, as timeout's own failure).
	[ "${IB_HAVE_TIMEOUT-1}" = 1 ] || return 125
	# An output file that cannot be created (state file system full, out of
	# inodes, read-only) must not cancel the call: a thaw runs anyway.
	if [ "$_ib_co" != /dev/stdout ] && ! (printf '' >"$_ib_co") 2>/dev/null; then
		_ib_co=/dev/null
	fi
	if [ "$_ib_op" = code ] || { [ "$_ib_op" = session ] && [ -n "$IB_CRED_SECRET" ]; }; then
		# Through a pipe: a Key Vault secret never touches a file or a command line.
		ib_session_input "$_ib_op" "$_ib_x" | timeout -k "$IB_KILL_GRACE" "$_ib_ct" "$@" >"$_ib_co" 2>&1 3>&-
		return
	fi
	timeout -k "$IB_KILL_GRACE" "$_ib_ct" "$@" <"$_ib_in" >"$_ib_co" 2>&1 3>&-
}

# ib_explain RC NAME WHAT OUTFILE: log why a call failed.
ib_explain() {
	case $1 in
	124 | 137)
		ib_log "$3 for instance $2: no answer within ${S_CALL_TIMEOUT}s (hung, or waiting at a login prompt); call killed"
		;;
	125)
		ib_log "$3 for instance $2: not called: timeout(1) (coreutils) is missing from PATH $PATH or failed"
		;;
	127)
		ib_log "$3 for instance $2: command not found on PATH $PATH"
		;;
	*)
		if [ -s "$4" ] && grep -Eqi 'username|password|access denied|login|authenticat' "$4" 2>/dev/null; then
			ib_log "login prompt / authentication failed for instance $2 during $3 (exit $1): configure OS authentication for root or set credentials_file"
		else
			ib_log "$3 for instance $2 failed (exit $1)"
		fi
		;;
	esac
	ib_log_output "$4" "$2"
}

# ---------------------------------------------------------------- discovery
# ib_discover: IB_TARGETS := configured instances, or every instance that
# `iris qlist` / `ccontrol qlist` reports up.  Both listings run at once (one
# step) and are read from memory, never from a file, so a full disk cannot
# turn a listing into "nothing running".  Every status is handled:
#   running, ...                          up: frozen
#   sign-on inhibited, ...                up (logins restricted): frozen
#   sign-on inhibited:primary transition  a mirror member becoming primary: the run fails, naming it
#   down, ...                             stopped, consistent on disk: not frozen (logged by name)
#   anything else                         the run fails, naming the instance and its status
# Returns 1 with IB_ERR and IB_REASON on failure; an empty result is not one.
ib_discover() {
	IB_TARGETS='' IB_REASON=''
	if [ -n "$S_INSTANCES" ]; then
		IB_TARGETS=$S_INSTANCES
		return 0
	fi
	_ib_found=''
	command -v iris >/dev/null 2>&1 && _ib_found=iris
	command -v ccontrol >/dev/null 2>&1 && _ib_found="$_ib_found cache"
	if [ -z "$_ib_found" ]; then
		IB_ERR="neither iris nor ccontrol is on PATH $PATH"
		IB_REASON=no-iris-commands
		return 1
	fi
	# Each listing in a background subshell that prints its whole answer, every
	# line tagged with the product and the exit status last, in one write.
	_ib_all=$(
		for _ib_prod in $_ib_found; do
			(
				_ib_o=$(ib_call - "$_ib_prod" "$S_CALL_TIMEOUT" /dev/stdout qlist)
				_ib_rc=$?
				_ib_t=''
				_ib_ifs=$IFS
				IFS='
'
				set -f
				for _ib_l in $_ib_o; do _ib_t="$_ib_t$_ib_prod|$_ib_l
"; done
				IFS=$_ib_ifs
				printf '%s%s|rc=%s\n' "$_ib_t" "$_ib_prod" "$_ib_rc"
			) &
		done
		wait
	)
	for _ib_prod in $_ib_found; do
		ib_qlist_targets "$_ib_prod" "$_ib_all" || return 1
	done
	return 0
}

# ib_qlist_targets PRODUCT TAGGED-OUTPUT: add that product's up instances to IB_TARGETS.
ib_qlist_targets() {
	_ib_qp=$1
	if [ "$1" = iris ]; then _ib_cmd=iris; else _ib_cmd=ccontrol; fi
	case $2 in
	*"$1|rc=0"*) ;;
	*)
		_ib_rc=${2##*"$1|rc="}
		_ib_rc=${_ib_rc%%[!0123456789]*}
		ib_explain "${_ib_rc:-1}" "($_ib_cmd)" "$_ib_cmd qlist" /dev/null
		IB_ERR="$_ib_cmd qlist failed (exit ${_ib_rc:-?}); cannot tell which instances to freeze"
		IB_REASON=discovery-failed
		return 1
		;;
	esac
	_ib_ifs=$IFS
	IFS='
'
	set -f
	# shellcheck disable=SC2086 # split on newlines on purpose; globbing is off
	set -- $2
	IFS=$_ib_ifs
	set +f
	for _ib_l in "$@"; do
		case $_ib_l in
		"$_ib_qp|rc="*) continue ;;
		"$_ib_qp|"*) _ib_l=${_ib_l#*|} ;;
		*) continue ;;
		esac
		_ib_qn=${_ib_l%%^*}
		[ -n "$_ib_qn" ] || continue
		# Field 4 (status): after three carets.
		_ib_qs=${_ib_l#*^}
		_ib_qs=${_ib_qs#*^}
		_ib_qs=${_ib_qs#*^}
		_ib_qs=${_ib_qs%%^*}
		case $_ib_qs in
		down*)
			ib_valid_name "$_ib_qn" && ib_log "instance $_ib_qn is down: not frozen (a stopped database is consistent on disk)"
			continue
			;;
		esac
		if ! ib_valid_name "$_ib_qn"; then
			IB_ERR="$_ib_cmd qlist reports an instance with an unusable name; refusing to freeze a partial set"
			IB_REASON=bad-instance-name
			return 1
		fi
		case $_ib_qs in
		running*) ;;
		'sign-on inhibited:primary transition'*)
			IB_ERR="instance $_ib_qn is in a mirror primary transition ('$_ib_qs'); not freezing anything, retry after the transition"
			IB_REASON=instance-in-transition
			return 1
			;;
		'sign-on inhibited'*) ib_log "instance $_ib_qn: status '$_ib_qs' (up, logins restricted): freezing it" ;;
		*)
			IB_ERR="instance $_ib_qn has qlist status '$_ib_qs', which the hooks do not know; not freezing anything"
			IB_REASON=instance-state-unknown
			return 1
			;;
		esac
		# An instance is its product and its name: IRIS and Cache may both have a PROD.
		case " $IB_TARGETS " in
		*" $_ib_qn:$_ib_qp "*)
			IB_ERR="$_ib_cmd qlist lists instance $_ib_qn twice; cannot tell which one a session reaches; not freezing anything"
			IB_REASON=bad-instance-name
			return 1
			;;
		esac
		_ib_qd=${_ib_l#*^}
		ib_log "instance $_ib_qn:$_ib_qp (install dir ${_ib_qd%%^*}) is up: freezing it"
		IB_TARGETS="${IB_TARGETS:+$IB_TARGETS }$_ib_qn:$_ib_qp"
	done
	return 0
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
