# shellcheck shell=sh
# shellcheck disable=SC2034 # S_* and IB_* are used by the scripts that source this
# irisbackup: functions shared by pre-script.sh, post-script.sh, watchdog.sh
# and install.sh: time, logging, settings, iris calls, discovery.  Run state,
# the lock, thawing and the verdict line are in state.sh.  POSIX sh (dash).
# Sourced by path, never run on its own.
#
# Rules kept throughout: no eval, settings are parsed (never sourced), every
# expansion quoted, every iris/csession/ccontrol call bounded in time.

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
		IB_NOW=$((_ib_s * 100 + _ib_f))
	else
		IB_NOW=$(($(date +%s) * 100))
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

# ---------------------------------------------------------------- settings
# ib_parse_settings FILE MODE
#   MODE=input     text from the deployment: internal keys are refused
#   MODE=installed settings.conf of a release: internal keys are required
# Sets S_* variables, or IB_ERR and returns 1.  Nothing is evaluated.
ib_settings_error() {
	IB_ERR="settings: $*"
	return 1
}

ib_bad_value() { # line key value allowed
	ib_settings_error "line $1: key '$2' has invalid value '$3': allowed: $4"
}

# ib_seconds_value LINE KEY VALUE MAX: VALUE is whole seconds 1..MAX, else a settings error.
ib_seconds_value() {
	ib_valid_uint "$3" && [ "$3" -le "$4" ] && return 0
	ib_bad_value "$1" "$2" "$3" "integer seconds 1..$4"
	return 1
}

ib_parse_settings() {
	_ib_file=$1 _ib_mode=$2
	S_INSTANCES='' S_CALL_TIMEOUT=15 S_AZURE_TIMEOUT=120 S_BUDGET=200
	S_WDL=300 S_EFT=600 S_CONTINUE=true S_CREDS='' S_POLL=1
	S_LOG_DIR='' S_STATE_DIR='' S_IRIS_PATH='' S_ROOT='' S_VERSION='' S_SHA=''
	S_RELEASE_DIR=''
	IB_ERR=''
	_ib_seen=' '
	_ib_n=0
	[ -r "$_ib_file" ] || [ "$_ib_file" = /dev/stdin ] || {
		ib_settings_error "cannot read $_ib_file"
		return 1
	}
	while IFS= read -r _ib_line || [ -n "$_ib_line" ]; do
		_ib_n=$((_ib_n + 1))
		case $_ib_line in
		*"$IB_CR"*)
			ib_settings_error "line $_ib_n: carriage return found (use Unix line endings)"
			return 1
			;;
		esac
		# Blank lines and comments.
		case $_ib_line in
		*[!\ "$IB_TAB"]*) ;;
		*) continue ;;
		esac
		case $_ib_line in
		'#'* | ' '*'#'* | "$IB_TAB"*'#'*)
			_ib_t=$_ib_line
			while :; do
				case $_ib_t in
				' '* | "$IB_TAB"*) _ib_t=${_ib_t#?} ;;
				*) break ;;
				esac
			done
			case $_ib_t in
			'#'*) continue ;;
			esac
			;;
		esac
		case $_ib_line in
		*=*) ;;
		*)
			ib_settings_error "line $_ib_n: expected key=value, got '$_ib_line'"
			return 1
			;;
		esac
		_ib_key=${_ib_line%%=*}
		_ib_val=${_ib_line#*=}
		case $_ib_key in
		'' | *[!abcdefghijklmnopqrstuvwxyz0123456789_]*)
			ib_settings_error "line $_ib_n: invalid key '$_ib_key' (keys are lower-case, no spaces around '=')"
			return 1
			;;
		esac
		case $_ib_seen in
		*" $_ib_key "*)
			ib_settings_error "line $_ib_n: key '$_ib_key' given twice"
			return 1
			;;
		esac
		_ib_seen="$_ib_seen$_ib_key "
		case $_ib_key in
		instances)
			ib_check_instances "$_ib_n" "$_ib_val" || return 1
			S_INSTANCES=$IB_INSTANCES
			;;
		call_timeout_seconds)
			ib_seconds_value "$_ib_n" "$_ib_key" "$_ib_val" 600 || return 1
			S_CALL_TIMEOUT=$_ib_val
			;;
		azure_timeout_seconds)
			ib_seconds_value "$_ib_n" "$_ib_key" "$_ib_val" 1800 || return 1
			S_AZURE_TIMEOUT=$_ib_val
			;;
		freeze_budget_seconds)
			ib_seconds_value "$_ib_n" "$_ib_key" "$_ib_val" 1200 || return 1
			S_BUDGET=$_ib_val
			;;
		wd_suspend_limit_seconds)
			ib_seconds_value "$_ib_n" "$_ib_key" "$_ib_val" 1200 || return 1
			S_WDL=$_ib_val
			;;
		external_freeze_timeout_seconds)
			ib_seconds_value "$_ib_n" "$_ib_key" "$_ib_val" 1200 || return 1
			S_EFT=$_ib_val
			;;
		runner_poll_seconds)
			ib_seconds_value "$_ib_n" "$_ib_key" "$_ib_val" 5 || return 1
			S_POLL=$_ib_val
			;;
		continue_backup_on_failure)
			case $_ib_val in
			true | false) S_CONTINUE=$_ib_val ;;
			*) ib_bad_value "$_ib_n" "$_ib_key" "$_ib_val" "true or false"; return 1 ;;
			esac
			;;
		credentials_file)
			if [ -n "$_ib_val" ]; then
				ib_valid_path "$_ib_val" ||
					{ ib_bad_value "$_ib_n" "$_ib_key" "$_ib_val" "empty (OS authentication) or an absolute path of [A-Za-z0-9._/-] without '..'"; return 1; }
			fi
			S_CREDS=$_ib_val
			;;
		log_dir | state_dir | release_dir | root | iris_path | version | bundle_sha256)
			if [ "$_ib_mode" != installed ]; then
				ib_settings_error "line $_ib_n: key '$_ib_key' is internal and set by install.sh; remove it"
				return 1
			fi
			ib_check_internal "$_ib_n" "$_ib_key" "$_ib_val" || return 1
			;;
		*)
			ib_settings_error "line $_ib_n: unknown key '$_ib_key'; allowed: instances, call_timeout_seconds, azure_timeout_seconds, freeze_budget_seconds, wd_suspend_limit_seconds, external_freeze_timeout_seconds, runner_poll_seconds, continue_backup_on_failure, credentials_file"
			return 1
			;;
		esac
	done <"$_ib_file"
	if [ "$_ib_mode" = installed ]; then
		for _ib_key in log_dir state_dir release_dir iris_path version bundle_sha256; do
			case $_ib_seen in
			*" $_ib_key "*) ;;
			*)
				ib_settings_error "installed settings lack internal key '$_ib_key' (reinstall with install.sh)"
				return 1
				;;
			esac
		done
	fi
	ib_check_relations
}

# The timeout nesting rules (components/settings.py HookSettings has the same
# ones; a test keeps the two in agreement).  A step is one bounded call:
# call_timeout + IB_KILL_GRACE.  Worst cases, all calls hanging:
#   pre-script  6 steps: qlist (iris and ccontrol at once), IsWDSuspendedExt,
#               ExternalFreeze, rollback ExternalThaw, stat -W, verification
#   post-script 5 steps: in-flight freezes, IsWDSuspendedExt, ExternalThaw,
#               stat -W, verification
#   watchdog    4 steps after it fires (the in-flight wait is over by then)
# Azure starts the post-script up to 2 runner polls after the pre-script's
# timeout (PluginHost waits int(timeout / poll) + 2 polls).
ib_step() { IB_STEP=$((S_CALL_TIMEOUT + IB_KILL_GRACE)); }

ib_check_relations() {
	ib_step
	if [ "$S_AZURE_TIMEOUT" -le $((6 * IB_STEP)) ]; then
		ib_settings_error "azure_timeout_seconds=$S_AZURE_TIMEOUT must be greater than 6 x (call_timeout_seconds + $IB_KILL_GRACE) = $((6 * IB_STEP)) (the pre-script's worst case: six calls in sequence)"
		return 1
	fi
	if [ "$S_BUDGET" -le $((S_AZURE_TIMEOUT + 2 * S_POLL)) ]; then
		ib_settings_error "freeze_budget_seconds=$S_BUDGET must be greater than azure_timeout_seconds + 2 x runner_poll_seconds = $((S_AZURE_TIMEOUT + 2 * S_POLL))"
		return 1
	fi
	if [ "$S_WDL" -le $((S_BUDGET + 4 * IB_STEP)) ]; then
		ib_settings_error "wd_suspend_limit_seconds=$S_WDL must be greater than freeze_budget_seconds + 4 x (call_timeout_seconds + $IB_KILL_GRACE) = $((S_BUDGET + 4 * IB_STEP)) (the watchdog's worst case)"
		return 1
	fi
	if [ "$S_WDL" -ge "$S_EFT" ]; then
		ib_settings_error "wd_suspend_limit_seconds=$S_WDL must be less than external_freeze_timeout_seconds=$S_EFT"
		return 1
	fi
	return 0
}

# ib_check_instances LINE VALUE -> IB_INSTANCES (normalised, single spaces)
ib_check_instances() {
	IB_INSTANCES=''
	_ib_ln=$1
	case $2 in
	*[!\ ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_:-]*)
		ib_bad_value "$1" instances "$2" "space-separated NAME:iris or NAME:cache items, NAME matching ^[A-Za-z][A-Za-z0-9_-]{0,63}\$"
		return 1
		;;
	esac
	_ib_names=' '
	set -f
	# shellcheck disable=SC2086 # split on spaces on purpose; globbing is off
	set -- $2
	set +f
	for _ib_item in "$@"; do
		_ib_nm=${_ib_item%:*}
		_ib_pr=${_ib_item##*:}
		case $_ib_item in
		*:*:* | *:) _ib_nm='' ;;
		*:*) ;;
		*) _ib_nm='' ;;
		esac
		if ! ib_valid_name "$_ib_nm"; then
			ib_bad_value "$_ib_ln" instances "$_ib_item" "NAME:iris or NAME:cache, NAME matching ^[A-Za-z][A-Za-z0-9_-]{0,63}\$"
			return 1
		fi
		case $_ib_pr in
		iris | cache) ;;
		*)
			ib_bad_value "$_ib_ln" instances "$_ib_item" "product 'iris' or 'cache' after the colon"
			return 1
			;;
		esac
		case $_ib_names in
		*" $_ib_nm "*)
			ib_bad_value "$_ib_ln" instances "$_ib_item" "each instance name once"
			return 1
			;;
		esac
		_ib_names="$_ib_names$_ib_nm "
		IB_INSTANCES="${IB_INSTANCES:+$IB_INSTANCES }$_ib_item"
	done
	return 0
}

ib_check_internal() { # line key value
	case $2 in
	log_dir | state_dir | release_dir)
		ib_valid_path "$3" || { ib_bad_value "$1" "$2" "$3" "absolute path"; return 1; }
		;;
	root)
		[ -z "$3" ] || ib_valid_path "$3" || { ib_bad_value "$1" "$2" "$3" "empty or absolute path"; return 1; }
		S_ROOT=$3
		return 0
		;;
	iris_path)
		_ib_ok=1
		case $3 in '' | :* | *: | *::*) _ib_ok=0 ;; esac
		_ib_rest=$3
		while [ "$_ib_ok" = 1 ] && [ -n "$_ib_rest" ]; do
			_ib_d=${_ib_rest%%:*}
			case $_ib_rest in *:*) _ib_rest=${_ib_rest#*:} ;; *) _ib_rest='' ;; esac
			ib_valid_path "$_ib_d" || _ib_ok=0
		done
		[ "$_ib_ok" = 1 ] || { ib_bad_value "$1" "$2" "$3" "colon-separated absolute directories"; return 1; }
		S_IRIS_PATH=$3
		return 0
		;;
	version)
		ib_valid_semver "$3" || { ib_bad_value "$1" "$2" "$3" "semantic version"; return 1; }
		S_VERSION=$3
		return 0
		;;
	bundle_sha256)
		case $3 in
		*[!0123456789abcdef]*) _ib_ok=0 ;;
		*) _ib_ok=1 ;;
		esac
		[ "$_ib_ok" = 1 ] && [ "${#3}" -eq 64 ] || { ib_bad_value "$1" "$2" "$3" "64 hex digits"; return 1; }
		S_SHA=$3
		return 0
		;;
	esac
	case $2 in
	log_dir) S_LOG_DIR=$3 ;;
	state_dir) S_STATE_DIR=$3 ;;
	release_dir) S_RELEASE_DIR=$3 ;;
	esac
	return 0
}

# MAJOR.MINOR.PATCH with optional -prerelease (safe characters only).
ib_valid_semver() {
	case $1 in
	*[!0123456789.ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-]*) return 1 ;;
	[0123456789]*.[0123456789]*.[0123456789]*) ;;
	*) return 1 ;;
	esac
	_ib_core=${1%%-*}
	case $_ib_core in
	*.*.*.* | *..* | *[!0123456789.]*) return 1 ;;
	esac
	[ "${#1}" -le 40 ]
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
		case " $IB_TARGETS " in
		*" $_ib_qn:"*) continue ;;
		esac
		IB_TARGETS="${IB_TARGETS:+$IB_TARGETS }$_ib_qn:$_ib_qp"
	done
	return 0
}
