# irisbackup install.sh: install, update, roll back or remove the Azure VM
# backup freeze/thaw hooks for InterSystems IRIS / Cache.  Run as root with
# `sh install.sh [options]` from the bundle directory (POSIX sh).
#
#   sh install.sh [--root DIR] [--settings FILE|-] [--iris-path DIRS] [--owner ID] [--skip-self-check] [--allow-no-iris]
#   sh install.sh [--root DIR] --check-settings [--settings FILE|-]
#   sh install.sh [--root DIR] --rollback
#   sh install.sh [--root DIR] --uninstall [--owner ID] [--purge-logs]
#   sh install.sh [--root DIR] --status
#
# --owner ID ([A-Za-z0-9._:-], up to 128) records who installed the release;
# --uninstall --owner ID removes the release only when no other owner is left
# (two deployments of the identical bundle share one release directory).
# --allow-no-iris lets the self-check pass when neither iris nor ccontrol is
# installed yet (an image baked before IRIS); every backup is then only
# file-system consistent until IRIS or Cache is installed.
#
# Exit status: 0 done; 2 usage or invalid settings (nothing installed);
# 3 self-check failed (nothing installed); 4 any other failure.
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2015 # 'a && b || die' is meant: die when either fails
set -u
case $0 in
*/*) IB_HOOK_DIR=${0%/*} ;;
*) IB_HOOK_DIR=. ;;
esac
# shellcheck source=common.sh
. "$IB_HOOK_DIR/common.sh"
# shellcheck source=state.sh
. "$IB_HOOK_DIR/state.sh"

IB_SCRIPT=install
IB_PID=$$
ib_now
IB_T0=$IB_NOW
IB_RUN="install-$$"

die() { # status message
	printf 'irisbackup install: ERROR: %s\n' "$2" >&2
	exit "$1"
}
say() {
	printf 'irisbackup install: %s\n' "$*"
}
usage() {
	sed -n '4,20p' "$IB_HOOK_DIR/install.sh" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

MODE=install ROOT='' SETTINGS='' IRIS_PATH_OPT='' SELF_CHECK=1 PURGE_LOGS=0 OWNER='' ALLOW_NO_IRIS=0
while [ "$#" -gt 0 ]; do
	case $1 in
	--root)
		[ "$#" -ge 2 ] || usage
		ROOT=${2%/}
		shift
		;;
	--settings)
		[ "$#" -ge 2 ] || usage
		SETTINGS=$2
		shift
		;;
	--iris-path)
		[ "$#" -ge 2 ] || usage
		IRIS_PATH_OPT=$2
		shift
		;;
	--skip-self-check) SELF_CHECK=0 ;;
	--allow-no-iris) ALLOW_NO_IRIS=1 ;;
	--purge-logs) PURGE_LOGS=1 ;;
	--owner)
		[ "$#" -ge 2 ] || usage
		OWNER=$2
		shift
		;;
	--uninstall) MODE=uninstall ;;
	--rollback) MODE=rollback ;;
	--status) MODE=status ;;
	--check-settings) MODE=check ;;
	-h | --help) usage ;;
	*) die 2 "unknown option '$1' (see --help)" ;;
	esac
	shift
done

if [ -n "$OWNER" ]; then
	case $OWNER in
	*[!ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-]* | .*) die 2 "--owner must be 1..128 of [A-Za-z0-9._:-], not starting with '.'" ;;
	esac
	[ "${#OWNER}" -le 128 ] || die 2 "--owner is longer than 128 characters"
fi
[ "$(id -u)" = 0 ] || die 4 "must run as root (Azure requires root-owned scripts)"
if [ -n "$ROOT" ]; then
	ib_valid_path "$ROOT" || die 2 "--root must be an absolute path of [A-Za-z0-9._/-]"
	[ -d "$ROOT" ] || die 2 "--root $ROOT is not a directory"
fi

SRC=$(cd "$IB_HOOK_DIR" && pwd -P) || die 4 "cannot find the bundle directory"
BASE="$ROOT/opt/irisbackup"
RELEASES="$BASE/releases"
ROLL="$BASE/rollback"
CONF="$ROOT/etc/azure/VMSnapshotScriptPluginConfig.json"
LOG_DIR="$ROOT/var/log/irisbackup"
STATE_DIR="$ROOT/var/lib/irisbackup"

TMPD=$(mktemp -d "${TMPDIR:-/tmp}/irisbackup-install.XXXXXX") || die 4 "mktemp failed"
trap 'rm -rf "$TMPD"' EXIT
trap 'exit 4' HUP INT TERM

# ---------------------------------------------------------------- bundle identity
bundle_identity() {
	IFS= read -r VERSION <"$SRC/VERSION" 2>/dev/null || VERSION=''
	ib_valid_semver "$VERSION" || die 4 "$SRC/VERSION must hold a semantic version, found '$VERSION'"
	# Same recipe as the deployment side: sha256 of the sorted per-file list.
	SHA=$( (cd "$SRC" && find . -type f | LC_ALL=C sort | xargs sha256sum) | sha256sum) ||
		die 4 "cannot compute the bundle sha256"
	SHA=${SHA%% *}
	RELEASE_ID="$VERSION-$(printf '%.12s' "$SHA")"
	REL="$RELEASES/$RELEASE_ID"
}

# Script location named by a plugin config (empty when none).
conf_pre_location() { # file
	IB_VAL=''
	[ -f "$1" ] || return 1
	IB_VAL=$(sed -n 's/.*"preScriptLocation"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$1" | head -n 1)
	[ -n "$IB_VAL" ]
}

# The release directory that a plugin config points at, if it is one of ours.
conf_release() { # file -> IB_VAL
	conf_pre_location "$1" || return 1
	case $IB_VAL in
	"$RELEASES"/*/pre-script.sh) IB_VAL=${IB_VAL%/pre-script.sh} ;;
	*) return 1 ;;
	esac
	case ${IB_VAL#"$RELEASES"/} in
	*/*) return 1 ;;
	esac
	[ -d "$IB_VAL" ]
}

# release_user REL -> IB_VAL: an active backup run whose scripts come from
# REL (its `release` record; for a run of a bundle before 2.1.0, which names
# none: the run holding the lock while REL is the active release).  A release
# in use is never removed: Azure starts that run's post-script from it.
# Uses S_BUDGET / IB_STEP of the settings last parsed (ib_run_active).
release_user() {
	ib_boot_id
	IB_RUNS="$STATE_DIR/runs"
	for _ru in "$IB_RUNS"/*; do
		ib_read "$_ru/release" && [ "$IB_VAL" = "$1" ] || continue
		if ib_run_active "$_ru"; then
			IB_VAL=${_ru##*/}
			return 0
		fi
	done
	if conf_release "$CONF" && [ "$IB_VAL" = "$1" ] && ib_read "$STATE_DIR/lock/run" && ib_valid_run_id "$IB_VAL" &&
		[ ! -f "$IB_RUNS/$IB_VAL/release" ] && ib_run_active "$IB_RUNS/$IB_VAL"; then
		return 0
	fi
	IB_VAL=''
	return 1
}

# Write stdin to DEST atomically with MODE (temp file in the same directory).
atomic_write() { # dest mode
	_aw_tmp="$1.tmp.$$"
	(umask 077 && cat >"$_aw_tmp") || {
		rm -f "$_aw_tmp"
		return 1
	}
	chown 0:0 "$_aw_tmp" && chmod "$2" "$_aw_tmp" && mv -f "$_aw_tmp" "$1" || {
		rm -f "$_aw_tmp"
		return 1
	}
}

plugin_config_json() { # release_dir
	cat <<EOF
{
    "pluginName": "ScriptRunner",
    "preScriptLocation": "$1/pre-script.sh",
    "postScriptLocation": "$1/post-script.sh",
    "preScriptParams": [],
    "postScriptParams": [],
    "preScriptNoOfRetries": 0,
    "postScriptNoOfRetries": 0,
    "timeoutInSeconds": $S_AZURE_TIMEOUT,
    "continueBackupOnFailure": $S_CONTINUE,
    "fsFreezeEnabled": true,
    "ScriptsExecutionPollTimeSeconds": $S_POLL
}
EOF
}

settings_conf() { # release_dir
	printf '# irisbackup %s settings, written by install.sh; edit through the deployment.\n' "$VERSION"
	printf 'instances=%s\n' "$S_INSTANCES"
	printf 'call_timeout_seconds=%s\n' "$S_CALL_TIMEOUT"
	printf 'azure_timeout_seconds=%s\n' "$S_AZURE_TIMEOUT"
	printf 'freeze_budget_seconds=%s\n' "$S_BUDGET"
	printf 'wd_suspend_limit_seconds=%s\n' "$S_WDL"
	printf 'external_freeze_timeout_seconds=%s\n' "$S_EFT"
	printf 'runner_poll_seconds=%s\n' "$S_POLL"
	printf 'continue_backup_on_failure=%s\n' "$S_CONTINUE"
	printf 'credentials_file=%s\n' "$S_CREDS"
	printf 'mirror_members=%s\n' "$S_MIRROR"
	printf 'key_vault_secret_url=%s\n' "$S_KV_URL"
	printf 'managed_identity=%s\n' "$S_MSI"
	printf '# internal\n'
	printf 'root=%s\n' "$ROOT"
	printf 'release_dir=%s\n' "$1"
	printf 'log_dir=%s\n' "$LOG_DIR"
	printf 'state_dir=%s\n' "$STATE_DIR"
	printf 'iris_path=%s\n' "$S_IRIS_PATH"
	printf 'version=%s\n' "$VERSION"
	printf 'bundle_sha256=%s\n' "$SHA"
}

read_settings_input() {
	case $SETTINGS in
	'') : >"$TMPD/settings.in" ;;
	-) cat >"$TMPD/settings.in" || die 2 "cannot read settings from standard input" ;;
	*)
		[ -f "$SETTINGS" ] || die 2 "settings file $SETTINGS not found"
		cat "$SETTINGS" >"$TMPD/settings.in" || die 2 "cannot read $SETTINGS"
		;;
	esac
	ib_parse_settings "$TMPD/settings.in" input || die 2 "$IB_ERR"
	# Azure's plugin host caps every script at its own timeoutInSeconds: ours must fit under it.
	_hc="$ROOT/etc/azure/VMSnapshotPluginHost.conf"
	if ib_host_timeout "$_hc" && [ "$IB_VAL" -lt "$S_AZURE_TIMEOUT" ]; then
		die 2 "settings: azure_timeout_seconds=$S_AZURE_TIMEOUT is above timeoutInSeconds=$IB_VAL in $_hc (Azure's plugin host stops waiting for a script after it): allowed: azure_timeout_seconds <= $IB_VAL, or raise timeoutInSeconds in $_hc"
	fi
	if [ -n "$S_CREDS" ]; then
		S_CREDS="$ROOT$S_CREDS"
	fi
	if [ -n "$IRIS_PATH_OPT" ]; then
		S_IRIS_PATH="$IRIS_PATH_OPT:$IB_DEFAULT_PATH"
	else
		S_IRIS_PATH=$IB_DEFAULT_PATH
	fi
	ib_check_internal 0 iris_path "$S_IRIS_PATH" || die 2 "--iris-path: $IB_ERR"
}

# ---------------------------------------------------------------- self-check
# Each instance reachable and our authentication accepted, with the exact
# call the hooks use (IsWDSuspendedExt: 5 or 3 both prove it).  No freeze.
self_check() {
	_sc_path=$PATH
	PATH=$S_IRIS_PATH
	IB_RUN_DIR="$TMPD/selfcheck"
	mkdir "$IB_RUN_DIR" || return 1
	_sc_log="$TMPD/selfcheck.log"
	SC_REASON=''
	{
		if ! command -v timeout >/dev/null 2>&1; then
			SC_REASON="timeout(1) (coreutils) is not on PATH $PATH"
		elif ! command -v setsid >/dev/null 2>&1; then
			SC_REASON="setsid (util-linux) is not on PATH $PATH: the watchdog could not be detached from the runner's process group"
		elif ! ib_check_creds; then
			SC_REASON=$IB_ERR
		elif [ -z "$S_INSTANCES" ] && ! command -v iris >/dev/null 2>&1 && ! command -v ccontrol >/dev/null 2>&1; then
			SC_NONE=1
		elif ! ib_discover; then
			SC_REASON=$IB_ERR
		fi
		command -v logger >/dev/null 2>&1 || SC_NO_LOGGER=1
	} >>"$_sc_log" 2>&1
	if [ "${SC_NO_LOGGER-}" = 1 ]; then
		say "self-check: WARNING: logger is not on PATH $S_IRIS_PATH; the hooks' verdict lines will reach only their own log, not syslog" >&2
	fi
	if [ "${SC_NONE-}" = 1 ]; then
		PATH=$_sc_path
		SC_TARGETS=''
		if [ "$ALLOW_NO_IRIS" = 1 ]; then
			say "self-check: WARNING: neither iris nor ccontrol is on PATH $S_IRIS_PATH (--allow-no-iris): every backup is only file-system consistent until IRIS or Cache is installed" >&2
			return 0
		fi
		SC_REASON="neither iris nor ccontrol is on PATH $S_IRIS_PATH: every backup would be only file-system consistent. Install IRIS/Cache first, fix --iris-path, or pass --allow-no-iris to install anyway"
		return 1
	fi
	if [ -n "$SC_REASON" ]; then
		PATH=$_sc_path
		return 1
	fi
	SC_TARGETS=$IB_TARGETS
	if [ -z "$IB_TARGETS" ]; then
		PATH=$_sc_path
		say "self-check: WARNING: no running IRIS or Cache instance found now; every running instance will be discovered at backup time" >&2
		return 0
	fi
	_sc_pids=''
	for _sc_it in $IB_TARGETS; do
		(
			ib_call "${_sc_it%:*}" "${_sc_it#*:}" "$S_CALL_TIMEOUT" "$IB_RUN_DIR/out.${_sc_it%:*}.${_sc_it#*:}" session "$IB_SUSPENDED_EXPR"
			printf '%s\n' "$?" >"$IB_RUN_DIR/rc.${_sc_it%:*}.${_sc_it#*:}"
		) &
		_sc_pids="$_sc_pids $!"
	done
	for _sc_p in $_sc_pids; do wait "$_sc_p"; done
	PATH=$_sc_path
	for _sc_it in $IB_TARGETS; do
		_sc_n=$_sc_it
		_sc_k="${_sc_it%:*}.${_sc_it#*:}"
		ib_read "$IB_RUN_DIR/rc.$_sc_k"
		case $IB_VAL in
		3) ;;
		5) say "self-check: WARNING: instance $_sc_n is frozen right now (a backup may be running)" >&2 ;;
		*)
			ib_explain "$IB_VAL" "$_sc_n" "self-check IsWDSuspendedExt" "$IB_RUN_DIR/out.$_sc_k" >>"$_sc_log" 2>&1
			case $IB_VAL in
			124 | 137) SC_REASON="$SC_REASON; instance $_sc_n did not answer within ${S_CALL_TIMEOUT}s (down, hung, or waiting at a login prompt)" ;;
			127) SC_REASON="$SC_REASON; the ${_sc_it#*:} command is not on PATH $S_IRIS_PATH" ;;
			*)
				if grep -Eqi 'username|password|access denied|login|authenticat' "$IB_RUN_DIR/out.$_sc_k" 2>/dev/null; then
					SC_REASON="$SC_REASON; login prompt / authentication failed for instance $_sc_n: set up OS authentication for root or credentials_file"
				else
					SC_REASON="$SC_REASON; instance $_sc_n is not reachable (exit $IB_VAL: down or not running?)"
				fi
				;;
			esac
			;;
		esac
	done
	SC_REASON=${SC_REASON#; }
	[ -z "$SC_REASON" ]
}

ensure_dirs() {
	for _d in "$BASE" "$RELEASES" "$LOG_DIR" "$STATE_DIR" "$STATE_DIR/runs" "$STATE_DIR/runners"; do
		if [ ! -d "$_d" ]; then
			(umask 077 && mkdir -p "$_d") || die 4 "cannot create $_d"
		fi
		chown 0:0 "$_d" && chmod 0700 "$_d" || die 4 "cannot set owner/mode of $_d"
	done
	if [ ! -d "$ROOT/etc/azure" ]; then
		(umask 022 && mkdir -p "$ROOT/etc/azure") || die 4 "cannot create $ROOT/etc/azure"
	fi
}

log_event() { # message, appended to the hooks log
	(umask 077 && printf 'install-%s install[%s] %s %s\n' "$(date -u +%Y%m%dT%H%M%SZ)" "$$" "$RELEASE_ID" "$*" >>"$LOG_DIR/irisbackup.log") 2>/dev/null || :
}

# ---------------------------------------------------------------- install
do_install() {
	bundle_identity
	read_settings_input
	if [ "$MODE" = check ]; then
		say "settings valid (timeoutInSeconds=$S_AZURE_TIMEOUT, instances=${S_INSTANCES:-<discover>})"
		exit 0
	fi
	if [ "$SELF_CHECK" = 1 ]; then
		if ! self_check; then
			printf 'irisbackup install: self-check FAILED, nothing installed: %s\n' "$SC_REASON" >&2
			if [ -s "$TMPD/selfcheck.log" ]; then
				sed 's/^/irisbackup install:   /' "$TMPD/selfcheck.log" >&2
			fi
			exit 3
		fi
	fi
	ensure_dirs

	# 1. The release directory: code is staged and renamed into place.
	if [ ! -f "$REL/BUNDLE_SHA256" ] || ! ib_read "$REL/BUNDLE_SHA256" || [ "$IB_VAL" != "$SHA" ]; then
		_new="$RELEASES/.new.$RELEASE_ID.$$"
		rm -rf "$_new"
		(umask 077 && mkdir "$_new") || die 4 "cannot create $_new"
		for _f in "$SRC"/*; do
			[ -f "$_f" ] || continue
			case $_f in
			*.sh) _m=0700 ;;
			*) _m=0600 ;;
			esac
			cp "$_f" "$_new/${_f##*/}" && chmod "$_m" "$_new/${_f##*/}" || die 4 "cannot copy $_f"
		done
		printf '%s\n' "$SHA" >"$_new/BUNDLE_SHA256"
		settings_conf "$REL" >"$_new/settings.conf"
		chmod 0600 "$_new/BUNDLE_SHA256" "$_new/settings.conf"
		chown -R 0:0 "$_new" && chmod 0700 "$_new" || die 4 "cannot set owner/mode of $_new"
		if [ -d "$REL" ]; then
			rm -rf "$REL.old.$$"
			mv "$REL" "$REL.old.$$" || die 4 "cannot move the damaged $REL aside"
		fi
		mv "$_new" "$REL" || die 4 "cannot rename $_new to $REL"
		rm -rf "$REL.old.$$"
		_rel_new=1
	else
		_rel_new=0
	fi

	# 2. Keep what is active now for --rollback (config + the settings it ran with).
	if conf_release "$CONF"; then
		_cur=$IB_VAL
		_cfg_same=0
		plugin_config_json "$REL" >"$TMPD/conf.new"
		if [ "$_cur" = "$REL" ] && cmp -s "$CONF" "$TMPD/conf.new" && [ "$_rel_new" = 0 ] &&
			settings_conf "$REL" | cmp -s - "$REL/settings.conf"; then
			_cfg_same=1
		fi
		if [ "$_cfg_same" = 0 ]; then
			(umask 077 && mkdir -p "$ROLL") && chmod 0700 "$ROLL" || die 4 "cannot create $ROLL"
			atomic_write "$ROLL/settings.conf" 0600 <"$_cur/settings.conf" || die 4 "cannot save rollback settings"
			atomic_write "$ROLL/plugin-config.json" 0600 <"$CONF" || die 4 "cannot save rollback plugin config"
		fi
	elif [ -f "$CONF" ] && [ ! -f "$BASE/original-plugin-config.json" ]; then
		# Someone else's plugin config: keep it, uninstall puts it back.
		atomic_write "$BASE/original-plugin-config.json" 0600 <"$CONF" || die 4 "cannot save the existing plugin config"
		say "kept the existing plugin config as $BASE/original-plugin-config.json"
	fi

	# 3. Settings of this release, then the atomic switch of the plugin config.
	settings_conf "$REL" | atomic_write "$REL/settings.conf" 0600 || die 4 "cannot write $REL/settings.conf"
	plugin_config_json "$REL" | atomic_write "$CONF" 0600 || die 4 "cannot write $CONF"

	if [ -n "$OWNER" ]; then
		(umask 077 && mkdir -p "$BASE/owners/$RELEASE_ID" && : >"$BASE/owners/$RELEASE_ID/$OWNER") ||
			die 4 "cannot record owner $OWNER"
	fi

	# 4. Keep only the active release and the rollback target.
	_keep_roll=''
	if conf_release "$ROLL/plugin-config.json"; then _keep_roll=$IB_VAL; fi
	for _r in "$RELEASES"/*; do
		[ -d "$_r" ] || continue
		[ "$_r" = "$REL" ] && continue
		[ "$_r" = "$_keep_roll" ] && continue
		if release_user "$_r"; then
			say "kept ${_r##*/}: backup run $IB_VAL is using it (a later install removes it)"
			continue
		fi
		rm -rf "$_r" "$BASE/owners/${_r##*/}"
	done
	log_event "installed (bundle $SHA, timeoutInSeconds=$S_AZURE_TIMEOUT, instances=${S_INSTANCES:-<discover>})"
	say "installed $RELEASE_ID in $REL; plugin config $CONF (timeoutInSeconds=$S_AZURE_TIMEOUT, ScriptsExecutionPollTimeSeconds=$S_POLL); self-check: $([ "$SELF_CHECK" = 1 ] && printf 'ok %s' "${SC_TARGETS:-(no instance running)}" || printf skipped)"
}

# ---------------------------------------------------------------- rollback
do_rollback() {
	conf_release "$ROLL/plugin-config.json" || die 4 "nothing to roll back to (no previous release recorded, or it was removed)"
	_prev=$IB_VAL
	[ -f "$ROLL/settings.conf" ] || die 4 "rollback settings missing"
	_swap=0
	if conf_release "$CONF"; then
		_cur=$IB_VAL
		cp "$CONF" "$TMPD/conf.cur" && cp "$_cur/settings.conf" "$TMPD/settings.cur" && _swap=1
	fi
	atomic_write "$_prev/settings.conf" 0600 <"$ROLL/settings.conf" || die 4 "cannot restore settings"
	atomic_write "$CONF" 0600 <"$ROLL/plugin-config.json" || die 4 "cannot restore plugin config"
	if [ "$_swap" = 1 ]; then
		atomic_write "$ROLL/settings.conf" 0600 <"$TMPD/settings.cur"
		atomic_write "$ROLL/plugin-config.json" 0600 <"$TMPD/conf.cur"
	fi
	say "rolled back: plugin config now points at $_prev"
}

# ---------------------------------------------------------------- uninstall
# Removes only the release of THIS bundle; the plugin config and rollback
# record only while they still point at it.
do_uninstall() {
	bundle_identity
	if [ -n "$OWNER" ] && [ -d "$BASE/owners/$RELEASE_ID" ]; then
		rm -f "$BASE/owners/$RELEASE_ID/$OWNER"
		set -- "$BASE/owners/$RELEASE_ID"/*
		if [ -e "$1" ]; then
			say "release $RELEASE_ID is still used by another owner (${1##*/}); kept"
			log_event "owner $OWNER removed; release kept for the other owner(s)"
			return 0
		fi
		rmdir "$BASE/owners/$RELEASE_ID" 2>/dev/null || :
	fi
	# A backup run using this release (even one that is no longer the active
	# release: `pulumi up` installs the new bundle before it uninstalls the old)
	# gets its post-script and watchdog from it: wait until it is over, at most
	# as long as a run can be active.  Still in use then: remove nothing.
	if [ -d "$REL" ]; then
		ib_parse_settings "$REL/settings.conf" installed || :
		ib_step
		_wait=$((S_BUDGET + 4 * IB_STEP + 30))
		_said=0
		while release_user "$REL"; do
			[ "$_wait" -gt 0 ] || die 4 "release $RELEASE_ID is still used by backup run $IB_VAL; nothing removed (run the uninstall again when the run is over)"
			[ "$_said" = 1 ] || say "waiting for backup run $IB_VAL, which uses release $RELEASE_ID, to finish"
			_said=1
			sleep 1
			_wait=$((_wait - 1))
		done
	fi
	if conf_release "$CONF" && [ "$IB_VAL" = "$REL" ]; then
		if [ -f "$BASE/original-plugin-config.json" ] && ! conf_release "$BASE/original-plugin-config.json"; then
			atomic_write "$CONF" 0600 <"$BASE/original-plugin-config.json" || die 4 "cannot restore the original plugin config"
			rm -f "$BASE/original-plugin-config.json"
			say "restored the plugin config that was there before irisbackup"
		else
			rm -f "$CONF"
			say "removed $CONF"
		fi
	fi
	if conf_release "$ROLL/plugin-config.json" && [ "$IB_VAL" = "$REL" ]; then
		rm -rf "$ROLL"
	fi
	if [ -d "$REL" ]; then
		rm -rf "$REL" "$BASE/owners/$RELEASE_ID"
		say "removed release $REL"
	else
		say "release $RELEASE_ID is not installed; nothing of it to remove"
	fi
	# Last one out: remove what only we use.
	set -- "$RELEASES"/*
	if [ ! -e "$1" ] && ! conf_release "$CONF"; then
		rm -rf "$ROLL" "$RELEASES" "$STATE_DIR" "$BASE/owners"
		if [ -f "$BASE/original-plugin-config.json" ] && [ ! -f "$CONF" ]; then
			atomic_write "$CONF" 0600 <"$BASE/original-plugin-config.json" && rm -f "$BASE/original-plugin-config.json"
		fi
		rmdir "$BASE" 2>/dev/null || :
		if [ "$PURGE_LOGS" = 1 ]; then
			rm -rf "$LOG_DIR"
		else
			log_event "uninstalled (last release; log kept)"
		fi
	else
		log_event "uninstalled"
	fi
}

do_status() {
	if conf_release "$CONF"; then
		say "active release: $IB_VAL"
		ib_read "$IB_VAL/BUNDLE_SHA256" && say "bundle sha256: $IB_VAL"
	else
		say "no irisbackup plugin config at $CONF"
	fi
	if conf_release "$ROLL/plugin-config.json"; then say "rollback target: $IB_VAL"; fi
	if ib_read "$STATE_DIR/lock/run"; then say "active run: $IB_VAL"; fi
	say "log: $LOG_DIR/irisbackup.log"
}

case $MODE in
install | check) do_install ;;
rollback) do_rollback ;;
uninstall) do_uninstall ;;
status) do_status ;;
esac
exit 0
