# shellcheck shell=sh
# shellcheck disable=SC2034 # S_* are used by the scripts that source this
# irisbackup: settings - validation of names, paths and numbers, the parser of
# settings.conf / the deployment's settings text, the timeout nesting rules
# and the limit Azure's plugin host puts on a script.  Sourced by common.sh.  POSIX sh (dash).  Nothing is evaluated.

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

# ib_seconds_setting LINE KEY VALUE: a whole-seconds setting, checked against its range and stored.
ib_seconds_setting() {
	case $2 in
	call_timeout_seconds) _ib_max=600 ;;
	azure_timeout_seconds) _ib_max=1800 ;;
	runner_poll_seconds) _ib_max=5 ;;
	*) _ib_max=1200 ;;
	esac
	ib_seconds_value "$1" "$2" "$3" "$_ib_max" || return 1
	case $2 in
	call_timeout_seconds) S_CALL_TIMEOUT=$3 ;;
	azure_timeout_seconds) S_AZURE_TIMEOUT=$3 ;;
	freeze_budget_seconds) S_BUDGET=$3 ;;
	wd_suspend_limit_seconds) S_WDL=$3 ;;
	external_freeze_timeout_seconds) S_EFT=$3 ;;
	runner_poll_seconds) S_POLL=$3 ;;
	esac
}

ib_parse_settings() {
	_ib_file=$1 _ib_mode=$2
	S_INSTANCES='' S_CALL_TIMEOUT=15 S_AZURE_TIMEOUT=120 S_BUDGET=200
	S_WDL=300 S_EFT=600 S_CONTINUE=true S_CREDS='' S_POLL=1
	S_LOG_DIR='' S_STATE_DIR='' S_IRIS_PATH='' S_ROOT='' S_VERSION='' S_SHA=''
	S_RELEASE_DIR='' S_MIRROR='' S_KV_URL='' S_MSI=''
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
		call_timeout_seconds | azure_timeout_seconds | freeze_budget_seconds | wd_suspend_limit_seconds | external_freeze_timeout_seconds | runner_poll_seconds)
			ib_seconds_setting "$_ib_n" "$_ib_key" "$_ib_val" || return 1
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
		mirror_members) ib_check_mirror_members "$_ib_n" "$_ib_val" || return 1 ;;
		key_vault_secret_url) ib_check_kv_url "$_ib_n" "$_ib_val" || return 1 ;;
		managed_identity) ib_check_msi "$_ib_n" "$_ib_val" || return 1 ;;
		log_dir | state_dir | release_dir | root | iris_path | version | bundle_sha256)
			if [ "$_ib_mode" != installed ]; then
				ib_settings_error "line $_ib_n: key '$_ib_key' is internal and set by install.sh; remove it"
				return 1
			fi
			ib_check_internal "$_ib_n" "$_ib_key" "$_ib_val" || return 1
			;;
		*)
			ib_settings_error "line $_ib_n: unknown key '$_ib_key'; allowed: instances, call_timeout_seconds, azure_timeout_seconds, freeze_budget_seconds, wd_suspend_limit_seconds, external_freeze_timeout_seconds, runner_poll_seconds, continue_backup_on_failure, credentials_file, mirror_members, key_vault_secret_url, managed_identity"
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
	ib_check_relations && ib_creds_relations
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
		# An instance is NAME and product: PROD:iris and PROD:cache are two.
		case $_ib_names in
		*" $_ib_item "*)
			ib_bad_value "$_ib_ln" instances "$_ib_item" "each NAME:product once"
			return 1
			;;
		esac
		_ib_names="$_ib_names$_ib_item "
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

# ---------------------------------------------------------------- Azure's limit
# ib_host_timeout FILE -> IB_VAL: the per-script limit of Azure's plugin host,
# read as VMBackup/main/PluginHost.py reads /etc/azure/VMSnapshotPluginHost.conf
# (ConfigParser: option timeoutInSeconds of section [pre_post], or of
# [DEFAULT]; option names in any case; ':' or '='), capped at 1800 as there.
# Absent file or option: 1800 (the extension's bundled copy).  Returns 1
# (IB_VAL empty) when the value is no plain number.
ib_host_timeout() {
	IB_VAL=1800 _ib_sec='' _ib_hpp='' _ib_hdf=''
	[ -f "$1" ] || return 0
	while IFS= read -r _ib_hl || [ -n "$_ib_hl" ]; do
		case $_ib_hl in
		'['*']'*)
			_ib_sec=${_ib_hl#?}
			_ib_sec=${_ib_sec%%]*}
			continue
			;;
		[tT][iI][mM][eE][oO][uU][tT][iI][nN][sS][eE][cC][oO][nN][dD][sS]*) ;;
		*) continue ;;
		esac
		_ib_hv=${_ib_hl#????????????????}
		_ib_hv=${_ib_hv#"${_ib_hv%%[!" $IB_TAB"]*}"}
		case $_ib_hv in
		[:=]*) _ib_hv=${_ib_hv#?} ;;
		*) continue ;;
		esac
		_ib_hv=${_ib_hv#"${_ib_hv%%[!" $IB_TAB"]*}"}
		_ib_hv=${_ib_hv%"${_ib_hv##*[!" $IB_TAB"]}"}
		case $_ib_sec in
		pre_post) _ib_hpp=$_ib_hv ;;
		DEFAULT) _ib_hdf=$_ib_hv ;;
		esac
	done <"$1"
	_ib_hv=${_ib_hpp:-$_ib_hdf}
	[ -n "$_ib_hv" ] || return 0
	case $_ib_hv in
	*[!0123456789]* | ?????????*)
		IB_VAL=''
		return 1
		;;
	esac
	while :; do
		case $_ib_hv in
		0?*) _ib_hv=${_ib_hv#0} ;; # no octal in $(( ))
		*) break ;;
		esac
	done
	IB_VAL=$_ib_hv
	[ "$IB_VAL" -le 1800 ] || IB_VAL=1800
	return 0
}

# ib_azure_limit HOSTCONF: IB_AZURE_TIMEOUT := the limit Azure really puts
# on each script: azure_timeout_seconds, or the plugin host's lower one
# (then IB_AZURE_NOTE says so).  IB_HOST_TIMEOUT_ERR is set when that lower
# limit cannot hold the pre-script's worst case (6 steps): the run must not freeze.
ib_azure_limit() {
	IB_AZURE_TIMEOUT=$S_AZURE_TIMEOUT IB_HOST_TIMEOUT_ERR='' IB_AZURE_NOTE=''
	if ! ib_host_timeout "$1"; then
		IB_AZURE_NOTE="WARNING: timeoutInSeconds in $1 is not a plain number; assuming azure_timeout_seconds=$S_AZURE_TIMEOUT"
		return 0
	fi
	[ "$IB_VAL" -lt "$S_AZURE_TIMEOUT" ] || return 0
	if [ "$IB_VAL" -le $((6 * IB_STEP)) ]; then
		IB_HOST_TIMEOUT_ERR="timeoutInSeconds=$IB_VAL in $1 is below azure_timeout_seconds=$S_AZURE_TIMEOUT and below the pre-script's worst case of 6 x (call_timeout_seconds + $IB_KILL_GRACE) = $((6 * IB_STEP))s: Azure would stop waiting for the pre-script while it may still freeze"
		return 0
	fi
	IB_AZURE_NOTE="WARNING: $1 caps every script at timeoutInSeconds=$IB_VAL, below azure_timeout_seconds=$S_AZURE_TIMEOUT: the pre-script's deadline is ${IB_VAL}s"
	IB_AZURE_TIMEOUT=$IB_VAL
}
