# shellcheck shell=sh
# shellcheck disable=SC2034 # IB_* results are read by the scripts that source this
# irisbackup: role-aware freezing of IRIS mirror members.  Sourced by
# common.sh.  POSIX sh (dash).
#
# Setting mirror_members (rendered from the stack's `mirrors`): space-separated
#   NAME:product=SET,KIND,PREFERENCE,ASYNC
# KIND failover | async; PREFERENCE preferBackupFailover | anyFailover |
# primaryOnly; ASYNC allowed | required.  At freeze time the pre-script asks
# each member instance for $SYSTEM.Mirror.GetStatus() and
# SYS.Mirror.IsFailoverReady() (one bounded session per member, in parallel
# with the IsWDSuspendedExt check, so no step is added), applies the rule
# table below and spares (does not freeze) a member whose snapshot may be
# crash-consistent.  Every member's role and answer go into the verdict line.
#
# ib_mirror_need is the shell copy of components/mirror_spec.py snapshot_need;
# tests/program/test_mirror_hooks_table.py runs every preference x kind x
# role x readiness x async setting through both and requires equal answers.

IB_MIRROR_TOKEN=IRISBACKUP-MIRROR
# One line of ObjectScript for a %SYS session fed on stdin: the status token and
# the first element of IsFailoverReady's $LB (1 ready, 0 not; '?' when it errs),
# on a line of its own (the terminal may print its prompt first).
# shellcheck disable=SC2016 # ObjectScript, not shell: nothing to expand
IB_MIRROR_CODE='set r="?" try { set r=+$listget(##class(SYS.Mirror).IsFailoverReady(),1) } catch { } write !,"IRISBACKUP-MIRROR|",$SYSTEM.Mirror.GetStatus(),"|",r,!'

# ib_check_mirror_members LINE VALUE -> S_MIRROR (normalised, single spaces)
ib_check_mirror_members() {
	S_MIRROR=''
	set -f
	# shellcheck disable=SC2086 # split on spaces on purpose; globbing is off
	set -- "$1" $2
	set +f
	_ib_ml=$1
	shift
	_ib_allowed="NAME:iris|NAME:cache=SET,failover|async,preferBackupFailover|anyFailover|primaryOnly,allowed|required"
	for _ib_mi in "$@"; do
		_ib_mk=${_ib_mi%%=*}
		_ib_mv=${_ib_mi#*=}
		_ib_ok=1
		case $_ib_mi in *=*) ;; *) _ib_ok=0 ;; esac
		case $_ib_mk in
		*:iris | *:cache) ib_valid_name "${_ib_mk%:*}" || _ib_ok=0 ;;
		*) _ib_ok=0 ;;
		esac
		_ib_oifs=$IFS
		IFS=,
		# shellcheck disable=SC2086 # split on commas on purpose
		set -- $_ib_mv
		IFS=$_ib_oifs
		[ "$#" = 4 ] || _ib_ok=0
		ib_valid_name "${1-}" || _ib_ok=0
		case ${2-}:${3-}:${4-} in
		failover:*:* | async:*:*) ;;
		*) _ib_ok=0 ;;
		esac
		case ${3-} in preferBackupFailover | anyFailover | primaryOnly) ;; *) _ib_ok=0 ;; esac
		case ${4-} in allowed | required) ;; *) _ib_ok=0 ;; esac
		case " $S_MIRROR " in *" $_ib_mk="*) _ib_ok=0 ;; esac
		if [ "$_ib_ok" = 0 ]; then
			ib_bad_value "$_ib_ml" mirror_members "$_ib_mi" "$_ib_allowed (each instance once)"
			return 1
		fi
		S_MIRROR="${S_MIRROR:+$S_MIRROR }$_ib_mi"
	done
	return 0
}

# ib_mirror_member NAME:product -> IB_MM="SET KIND PREFERENCE ASYNC", 1 when not a member
ib_mirror_member() {
	IB_MM=''
	for _ib_mi in $S_MIRROR; do
		[ "${_ib_mi%%=*}" = "$1" ] || continue
		_ib_mv=${_ib_mi#*=}
		_ib_oifs=$IFS
		IFS=,
		# shellcheck disable=SC2086 # split on commas on purpose
		set -- $_ib_mv
		IFS=$_ib_oifs
		IB_MM="$1 $2 $3 $4"
		return 0
	done
	return 1
}

# ib_mirror_role STATUS -> IB_ROLE (mirror_spec.role_from_status)
ib_mirror_role() {
	case $1 in
	PRIMARY) IB_ROLE=primary ;;
	BACKUP) IB_ROLE=backup ;;
	CONNECTED | MULTIASYNC*) IB_ROLE=async ;;
	NOTINIT) IB_ROLE=not-member ;;
	*) IB_ROLE=not-ready ;;
	esac
}

# ib_mirror_need PREFERENCE KIND ROLE READY(1|0) ASYNC -> IB_NEED="CONSISTENCY ALERT(1|0) REASON"
ib_mirror_need() {
	if [ "$3" = not-member ]; then
		IB_NEED='required 1 not-a-mirror-member'
		return 0
	fi
	if [ "$2" = async ]; then
		case $3 in
		async) IB_NEED="$5 0 async-member" ;;
		not-ready)
			# Not connected: its copy is behind; alert only when the set wanted it consistent.
			if [ "$5" = required ]; then IB_NEED='allowed 1 async-not-connected'; else IB_NEED='allowed 0 async-not-connected'; fi
			;;
		*) IB_NEED='required 1 role-not-as-configured' ;;
		esac
		return 0
	fi
	case $3 in
	async) IB_NEED='required 1 role-not-as-configured'; return 0 ;;
	not-ready) IB_NEED='allowed 1 member-not-active'; return 0 ;;
	esac
	if [ "$4" != 1 ]; then
		# No active, caught-up backup: the primary freezes whatever the preference (the fallback).
		if [ "$3" = primary ] || [ "$1" != primaryOnly ]; then
			IB_NEED='required 1 mirror-not-failover-ready'
		else
			IB_NEED='allowed 1 mirror-not-failover-ready'
		fi
		return 0
	fi
	case $1:$3 in
	preferBackupFailover:backup | anyFailover:primary | anyFailover:backup | primaryOnly:primary)
		IB_NEED="required 0 $3-by-preference" ;;
	*) IB_NEED="allowed 0 $3-spared-by-preference" ;;
	esac
}

# ib_mirror_start DIR: start the role query of every mirror member among
# IB_TARGETS, in the background (IB_MIRROR_PIDS); output in DIR/out.mirror.KEY.
ib_mirror_start() {
	IB_MIRROR_PIDS=''
	[ -n "$S_MIRROR" ] || return 0
	for _ib_it in $IB_TARGETS; do
		ib_mirror_member "$_ib_it" || continue
		(
			ib_call "${_ib_it%:*}" "${_ib_it#*:}" "$S_CALL_TIMEOUT" "$1/out.mirror.${_ib_it%:*}.${_ib_it#*:}" code "$IB_MIRROR_CODE"
		) 3>&- &
		IB_MIRROR_PIDS="$IB_MIRROR_PIDS $!"
	done
}

# ib_mirror_read FILE -> IB_MSTATUS, IB_MREADY ('' when no answer line)
ib_mirror_read() {
	IB_MSTATUS='' IB_MREADY=''
	[ -f "$1" ] || return 1
	while IFS= read -r _ib_l || [ -n "$_ib_l" ]; do
		case $_ib_l in
		*"$IB_MIRROR_TOKEN|"*) _ib_l=${_ib_l#*"$IB_MIRROR_TOKEN|"} ;;
		*) continue ;;
		esac
		_ib_l=${_ib_l%"$IB_CR"}
		IB_MSTATUS=${_ib_l%%|*}
		IB_MREADY=${_ib_l#*|}
	done <"$1"
	case $IB_MSTATUS in
	'' | *[!ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789^/]*) IB_MSTATUS=''; return 1 ;;
	esac
	return 0
}

# ib_mirror_finish DIR: wait for the role queries, decide per member, and when
# every target may be crash-consistent, empty IB_TARGETS (IB_SPARED lists them);
# record the verdict's mirror entries in DIR/mirror, log every decision.
# A member whose role cannot be read is frozen, with an alert (never spared on a guess).
ib_mirror_finish() {
	IB_SPARED='' IB_MIRROR_ALERT=''
	[ -n "$S_MIRROR" ] || return 0
	_ib_md=$1
	for _ib_p in $IB_MIRROR_PIDS; do wait "$_ib_p"; done
	_ib_keep='' _ib_json=''
	for _ib_it in $IB_TARGETS; do
		if ! ib_mirror_member "$_ib_it"; then
			_ib_keep="${_ib_keep:+$_ib_keep }$_ib_it"
			continue
		fi
		# shellcheck disable=SC2086 # split on spaces on purpose
		set -- $IB_MM
		_ib_set=$1 _ib_kind=$2 _ib_pref=$3 _ib_async=$4
		_ib_ready=0
		_ib_mo="$_ib_md/out.mirror.${_ib_it%:*}.${_ib_it#*:}"
		if ib_mirror_read "$_ib_mo"; then
			ib_mirror_role "$IB_MSTATUS"
			[ "$IB_MREADY" = 1 ] && _ib_ready=1
			ib_mirror_need "$_ib_pref" "$_ib_kind" "$IB_ROLE" "$_ib_ready" "$_ib_async"
		else
			IB_ROLE=unreadable
			IB_NEED='required 1 role-unreadable'
			ib_log "mirror member $_ib_it: no GetStatus answer (the session failed, or gave none within ${S_CALL_TIMEOUT}s): freezing it"
			ib_log_output "$_ib_mo" "$_ib_it"
		fi
		# shellcheck disable=SC2086 # split on spaces on purpose
		set -- $IB_NEED
		_ib_alert=false _ib_an=''
		if [ "$2" = 1 ]; then
			_ib_alert=true _ib_an=', ALERT'
			IB_MIRROR_ALERT="$IB_MIRROR_ALERT $_ib_it($3)"
		fi
		_ib_rb=false
		[ "$_ib_ready" = 1 ] && _ib_rb=true
		ib_log "mirror member $_ib_it of set $_ib_set ($_ib_kind, $_ib_pref): role $IB_ROLE (GetStatus '${IB_MSTATUS:-no answer}', failover-ready $_ib_rb): snapshot $1 ($3)$_ib_an"
		if [ "$1" = allowed ]; then
			IB_SPARED="${IB_SPARED:+$IB_SPARED }$_ib_it"
		else
			_ib_keep="${_ib_keep:+$_ib_keep }$_ib_it"
		fi
		_ib_json="${_ib_json:+$_ib_json,}{\"instance\":\"$_ib_it\",\"set\":\"$_ib_set\",\"kind\":\"$_ib_kind\",\"role\":\"$IB_ROLE\",\"ready\":$_ib_rb,\"consistency\":\"$1\",\"alert\":$_ib_alert,\"reason\":\"$3\"}"
	done
	# Azure labels the whole VM's recovery point: it is honest only when every instance
	# on it was frozen (the pre-script succeeds) or none was (the pre-script fails, so
	# Azure records a file-system consistent point).  So members are spared only when
	# every target may be, and only when a failing pre-script still lets the backup run.
	if [ -n "$IB_SPARED" ] && [ -n "$_ib_keep" ]; then
		ib_log "freezing $IB_SPARED too: $_ib_keep on this VM must be frozen, and Azure labels the whole VM's recovery point"
		_ib_keep="$_ib_keep $IB_SPARED" IB_SPARED=''
	elif [ -n "$IB_SPARED" ] && [ "$S_CONTINUE" != true ]; then
		ib_log "freezing $IB_SPARED anyway: with continue_backup_on_failure=false the pre-script cannot fail to mark the point crash-consistent without failing the backup"
		_ib_keep=$IB_SPARED IB_SPARED=''
	fi
	IB_TARGETS=$_ib_keep
	[ -z "$IB_SPARED" ] || ib_log "not freezing (crash-consistent is allowed by the mirror set's preference): $IB_SPARED"
	[ -z "$IB_MIRROR_ALERT" ] || ib_log "MIRROR ALERT:$IB_MIRROR_ALERT"
	ib_put "$_ib_md/mirror" "[$_ib_json]"
}

# ib_mirror_verdict_part -> IB_MIRROR_PART (',"mirror":[...]' or '') and IB_VERDICT_V (2 or 1)
ib_mirror_verdict_part() {
	IB_MIRROR_PART='' IB_VERDICT_V=1
	[ -n "${IB_RUN_DIR-}" ] && ib_read "$IB_RUN_DIR/mirror" || return 0
	case $IB_VAL in
	'['*']') IB_MIRROR_PART=",\"mirror\":$IB_VAL" IB_VERDICT_V=2 ;;
	esac
}
