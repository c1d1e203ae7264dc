# shellcheck shell=sh
# shellcheck disable=SC2034 # S_* and IB_* are used by the scripts that source this
# irisbackup: functions shared by pre-script.sh, post-script.sh, watchdog.sh
# and install.sh.  POSIX sh (dash).  Sourced by path, never run on its own.
#
# Rules kept throughout: no eval, settings are parsed (never sourced), every
# expansion quoted, every iris/csession/ccontrol call bounded in time.

IB_CR=$(printf '\r')
IB_TAB=$(printf '\t')
IB_DEFAULT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# Seconds between TERM and KILL for a call that overran its limit.
IB_KILL_GRACE=2
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
	S_INSTANCES='' S_CALL_TIMEOUT=20 S_AZURE_TIMEOUT=120 S_BUDGET=240
	S_WDL=300 S_EFT=600 S_CONTINUE=true S_CREDS=''
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
			ib_settings_error "line $_ib_n: unknown key '$_ib_key'; allowed: instances, call_timeout_seconds, azure_timeout_seconds, freeze_budget_seconds, wd_suspend_limit_seconds, external_freeze_timeout_seconds, continue_backup_on_failure, credentials_file"
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

ib_check_relations() {
	if [ "$S_AZURE_TIMEOUT" -le $((4 * S_CALL_TIMEOUT)) ]; then
		ib_settings_error "azure_timeout_seconds=$S_AZURE_TIMEOUT must be greater than 4 x call_timeout_seconds ($((4 * S_CALL_TIMEOUT)))"
		return 1
	fi
	if [ "$S_BUDGET" -le "$S_AZURE_TIMEOUT" ]; then
		ib_settings_error "freeze_budget_seconds=$S_BUDGET must be greater than azure_timeout_seconds=$S_AZURE_TIMEOUT"
		return 1
	fi
	if [ "$S_BUDGET" -ge "$S_WDL" ]; then
		ib_settings_error "freeze_budget_seconds=$S_BUDGET must be less than wd_suspend_limit_seconds=$S_WDL"
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
	IB_LOCK="$S_STATE_DIR/lock"
	[ -d "$IB_RUNS" ] || mkdir -p "$IB_RUNS" || return 2
	IB_CRED_IN=/dev/null
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
	timeout -k "$IB_KILL_GRACE" "$_ib_ct" "$@" <"$_ib_in" >"$_ib_co" 2>&1 3>&-
}

# ib_explain RC NAME WHAT OUTFILE: log why a call failed.
ib_explain() {
	case $1 in
	124 | 137)
		ib_log "$3 for instance $2: no answer within ${S_CALL_TIMEOUT}s (hung, or waiting at a login prompt); call killed"
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
# ib_discover: IB_TARGETS := configured instances, or every running instance
# from `iris qlist` / `ccontrol qlist`.  Returns 1 (IB_ERR) on a bad name or a
# failed listing; an empty result is not an error.
ib_discover() {
	IB_TARGETS=''
	if [ -n "$S_INSTANCES" ]; then
		IB_TARGETS=$S_INSTANCES
		return 0
	fi
	_ib_found=0
	for _ib_prod in iris cache; do
		if [ "$_ib_prod" = iris ]; then _ib_cmd=iris; else _ib_cmd=ccontrol; fi
		command -v "$_ib_cmd" >/dev/null 2>&1 || continue
		_ib_found=1
		_ib_out="$IB_RUN_DIR/out.qlist.$_ib_prod"
		ib_call - "$_ib_prod" "$S_CALL_TIMEOUT" "$_ib_out" qlist
		_ib_rc=$?
		if [ "$_ib_rc" != 0 ]; then
			ib_explain "$_ib_rc" "($_ib_cmd)" "$_ib_cmd qlist" "$_ib_out"
			IB_ERR="$_ib_cmd qlist failed (exit $_ib_rc); cannot tell which instances to freeze"
			return 1
		fi
		while IFS='^' read -r _ib_qn _ib_q2 _ib_q3 _ib_qs _ib_qrest || [ -n "$_ib_qn" ]; do
			[ -n "$_ib_qn" ] || continue
			case $_ib_qs in
			running*) ;;
			*) continue ;;
			esac
			if ! ib_valid_name "$_ib_qn"; then
				IB_ERR="$_ib_cmd qlist reports a running instance with an unusable name; refusing to freeze a partial set"
				return 1
			fi
			case " $IB_TARGETS " in
			*" $_ib_qn:"*) continue ;;
			esac
			IB_TARGETS="${IB_TARGETS:+$IB_TARGETS }$_ib_qn:$_ib_prod"
		done <"$_ib_out"
	done
	if [ "$_ib_found" = 0 ]; then
		IB_ERR="neither iris nor ccontrol is on PATH $PATH"
		return 1
	fi
	return 0
}

# ---------------------------------------------------------------- run state
# Per-run directory $S_STATE_DIR/runs/<run id>/:
#   runner_ppid pre_pid start attempt.<N> freeze.<N> pre_result frozen
#   watchdog.pid watchdog_stop watchdog_fired post_pid post_started
#   thaw.<N> post_result out.* (call output)
# Lock: $S_STATE_DIR/lock/ (mkdir is atomic) holding file 'run' = run id.

ib_pid_alive() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null
}

ib_read() { # FILE -> IB_VAL (first line, empty when missing)
	IB_VAL=''
	[ -f "$1" ] || return 1
	IFS= read -r IB_VAL <"$1" || [ -n "$IB_VAL" ]
}

# ib_run_alive DIR: some process of that run (pre, watchdog, post) still lives.
ib_run_alive() {
	for _ib_pf in pre_pid watchdog.pid post_pid; do
		ib_read "$1/$_ib_pf" && ib_pid_alive "$IB_VAL" && return 0
	done
	return 1
}

# ib_lock_acquire: take the lock for IB_RUN, recovering a stale one.
ib_lock_acquire() {
	_ib_try=0
	while [ "$_ib_try" -lt 3 ]; do
		_ib_try=$((_ib_try + 1))
		if [ "${IB_LOCK_TAKEN-}" = 1 ] || mkdir "$IB_LOCK" 2>/dev/null; then
			IB_LOCK_TAKEN=0
			printf '%s\n' "$IB_RUN" >"$IB_LOCK/run"
			return 0
		fi
		ib_read "$IB_LOCK/run"
		_ib_owner=$IB_VAL
		if [ -z "$_ib_owner" ]; then
			# Owner is between mkdir and writing its id: give it a moment.
			sleep 1
			ib_read "$IB_LOCK/run"
			_ib_owner=$IB_VAL
		fi
		if [ -n "$_ib_owner" ] && ib_valid_run_id "$_ib_owner" && ib_run_alive "$IB_RUNS/$_ib_owner"; then
			IB_ERR="another run ($_ib_owner) is active; not touching its instances"
			return 1
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
			ib_log "recovered stale lock of run ${_ib_owner:-<unknown>} (its processes are gone)"
		fi
	done
	IB_ERR="could not take the lock $IB_LOCK"
	return 1
}

ib_lock_release() { # only when it is still ours
	ib_read "$IB_LOCK/run"
	[ "$IB_VAL" = "$IB_RUN" ] || return 0
	rm -rf "$IB_LOCK"
}

ib_kill_watchdog() { # run dir
	: >"$1/watchdog_stop"
	if ib_read "$1/watchdog.pid" && ib_pid_alive "$IB_VAL"; then
		kill "$IB_VAL" 2>/dev/null || :
	fi
}

# ---------------------------------------------------------------- thaw
# Which instances of a run may be frozen by it: every attempted freeze whose
# call did not answer a definite failure (3 or other non-5 code) -- i.e. the
# ones that answered 5 and the ones whose call was killed or never reported.
# ib_candidates DIR -> IB_CAND ("NAME:product ...")
ib_candidates() {
	IB_CAND=''
	for _ib_a in "$1"/attempt.*; do
		[ -f "$_ib_a" ] || continue
		_ib_nm=${_ib_a##*/attempt.}
		ib_valid_name "$_ib_nm" || continue
		# Already thawed and verified by an earlier step of this run.
		if ib_read "$1/thaw.$_ib_nm" && [ "$IB_VAL" = thawed ]; then continue; fi
		ib_read "$_ib_a"
		_ib_pr=$IB_VAL
		case $_ib_pr in iris | cache) ;; *) continue ;; esac
		if ib_read "$1/freeze.$_ib_nm"; then
			case $IB_VAL in
			5 | 124 | 137 | '') ;;
			*) continue ;;
			esac
		fi
		IB_CAND="${IB_CAND:+$IB_CAND }$_ib_nm:$_ib_pr"
	done
}

# ib_wait_inflight DIR: wait (bounded) until every attempted freeze reported.
ib_wait_inflight() {
	ib_read "$1/freeze_start" || return 0
	_ib_limit=$((IB_VAL + (S_CALL_TIMEOUT + IB_KILL_GRACE + 2) * 100))
	while :; do
		_ib_pending=''
		for _ib_a in "$1"/attempt.*; do
			[ -f "$_ib_a" ] || continue
			_ib_nm=${_ib_a##*/attempt.}
			[ -f "$1/freeze.$_ib_nm" ] || _ib_pending="$_ib_pending $_ib_nm"
		done
		[ -n "$_ib_pending" ] || return 0
		ib_now
		if [ "$IB_NOW" -ge "$_ib_limit" ]; then
			ib_log "freeze calls of$_ib_pending never reported; treating them as possibly frozen"
			return 0
		fi
		sleep 0.2
	done
}

# ib_thaw_one DIR NAME PRODUCT WHO: thaw one instance frozen by this run.
# Writes DIR/thaw.NAME = thawed | not-frozen | resumed-early | failed
ib_thaw_one() {
	_ib_d=$1 _ib_n=$2 _ib_p=$3 _ib_who=$4
	_ib_expect=no
	if ib_read "$_ib_d/freeze.$_ib_n" && [ "$IB_VAL" = 5 ]; then _ib_expect=yes; fi
	_ib_o="$_ib_d/out.$_ib_who.$_ib_n"
	ib_call "$_ib_n" "$_ib_p" "$S_CALL_TIMEOUT" "$_ib_o.check" session "$IB_SUSPENDED_EXPR"
	_ib_rc=$?
	case $_ib_rc in
	3)
		if [ "$_ib_expect" = yes ]; then
			ib_log "instance $_ib_n is no longer suspended before $_ib_who thawed it: writes resumed early (watchdog or WDSuspendLimit)"
			printf 'resumed-early\n' >"$_ib_d/thaw.$_ib_n"
		else
			ib_log "instance $_ib_n is not suspended: nothing to thaw"
			printf 'not-frozen\n' >"$_ib_d/thaw.$_ib_n"
		fi
		return 0
		;;
	5)
		ib_call "$_ib_n" "$_ib_p" "$S_CALL_TIMEOUT" "$_ib_o.thaw" session "$IB_THAW_EXPR"
		_ib_rc=$?
		if [ "$_ib_rc" = 5 ]; then
			ib_log "ExternalThaw of instance $_ib_n succeeded"
		else
			ib_explain "$_ib_rc" "$_ib_n" ExternalThaw "$_ib_o.thaw"
			ib_emergency_thaw "$_ib_n" "$_ib_p" "$_ib_o"
		fi
		;;
	*)
		ib_explain "$_ib_rc" "$_ib_n" IsWDSuspendedExt "$_ib_o.check"
		ib_emergency_thaw "$_ib_n" "$_ib_p" "$_ib_o"
		;;
	esac
	ib_call "$_ib_n" "$_ib_p" "$S_CALL_TIMEOUT" "$_ib_o.verify" session "$IB_SUSPENDED_EXPR"
	_ib_rc=$?
	if [ "$_ib_rc" = 3 ]; then
		ib_log "instance $_ib_n verified: writes resumed"
		printf 'thawed\n' >"$_ib_d/thaw.$_ib_n"
		return 0
	fi
	ib_explain "$_ib_rc" "$_ib_n" "IsWDSuspendedExt after thaw" "$_ib_o.verify"
	if [ "$_ib_rc" = 5 ]; then
		# Still suspended after a session thaw: try the emergency thaw once more.
		ib_emergency_thaw "$_ib_n" "$_ib_p" "$_ib_o"
		ib_call "$_ib_n" "$_ib_p" "$S_CALL_TIMEOUT" "$_ib_o.verify2" session "$IB_SUSPENDED_EXPR"
		if [ $? = 3 ]; then
			ib_log "instance $_ib_n verified after emergency thaw: writes resumed"
			printf 'thawed\n' >"$_ib_d/thaw.$_ib_n"
			return 0
		fi
	fi
	ib_log "instance $_ib_n: thaw NOT confirmed; it may still be frozen (IRIS resumes by itself after WDSuspendLimit=${S_WDL}s)"
	printf 'failed\n' >"$_ib_d/thaw.$_ib_n"
	return 1
}

ib_emergency_thaw() { # name product outprefix
	if [ "$2" = iris ]; then _ib_sw="iris stat $1 -W"; else _ib_sw="ccontrol stat $1 -W"; fi
	ib_log "instance $1: emergency thaw with '$_ib_sw'"
	ib_call "$1" "$2" "$S_CALL_TIMEOUT" "$3.statW" stat
	_ib_src=$?
	[ "$_ib_src" = 0 ] || ib_explain "$_ib_src" "$1" "$_ib_sw" "$3.statW"
}

# ib_thaw_all DIR WHO LIST: thaw LIST ("NAME:product ...") in parallel.
# Sets IB_THAW_BAD (instances not confirmed thawed) and IB_RESUMED_EARLY.
ib_thaw_all() {
	_ib_td=$1 _ib_tw=$2 _ib_list=$3
	_ib_pids=''
	for _ib_it in $_ib_list; do
		ib_thaw_one "$_ib_td" "${_ib_it%:*}" "${_ib_it#*:}" "$_ib_tw" 3>&- &
		_ib_pids="$_ib_pids $!"
	done
	for _ib_pd in $_ib_pids; do
		wait "$_ib_pd" || :
	done
	IB_THAW_BAD='' IB_RESUMED_EARLY=''
	for _ib_it in $_ib_list; do
		_ib_nm=${_ib_it%:*}
		ib_read "$_ib_td/thaw.$_ib_nm"
		case $IB_VAL in
		thawed | not-frozen) ;;
		resumed-early) IB_RESUMED_EARLY="$IB_RESUMED_EARLY $_ib_nm" ;;
		*) IB_THAW_BAD="$IB_THAW_BAD $_ib_nm" ;;
		esac
	done
}
