#!/bin/sh
# Test double of InterSystems `iris`, `csession` and `ccontrol` (one script,
# dispatched on the name it is called by).  POSIX sh so that a call costs
# about a millisecond.  State lives in a directory: $IRIS_DOUBLE_DIR, or the
# parent of the directory holding the command (<dir>/bin/iris -> <dir>).
#
# An instance is its product and its name (IRIS and Cache may both have a PROD):
#   <I> = <dir>/instances/<PRODUCT>/<NAME>/   PRODUCT iris | cache
#   <I>/product      iris | cache
#   <I>/status       running | down | any other qlist status text, printed as is
#                                       ("sign-on inhibited", "sign-on inhibited:primary transition");
#                                       sessions work while it starts with running or sign-on inhibited
#   <I>/auth         os (default) | password
#   <I>/credentials  username line, password line (a login logs login-ok, and secret-in-environment
#                                       when the password is in the double's environment)
#   <I>/mirror       $SYSTEM.Mirror.GetStatus() answer (PRIMARY, BACKUP, CONNECTED, TRANSITION, ...);
#                                       absent: NOTINIT.  <I>/failover_ready: 1 (default) or 0
#                                       (SYS.Mirror.IsFailoverReady).  A session without an expression
#                                       reads ObjectScript lines on stdin: the hooks' role query
#                                       (op.mirror applies) and halt
#   <I>/frozen       "<uptime_cs> <WDSuspendLimit> <ExternalFreezeTimeOut>" while
#                                       frozen; absent or "none" when not (no rm: a call stays cheap)
#   <I>/op.<OP>      behaviour for OP in freeze thaw suspended stat login mirror:
#                                       fail | hang | delay <seconds> | exit <code> |
#                                       landexit <code> (do the operation, then exit with <code>:
#                                       a call killed by a signal after its effect landed) |
#                                       hang-if-frozen (hang while NAME is frozen, else go on:
#                                       for suspended, thaw, stat - "hangs once the freeze landed") |
#                                       serverlate <seconds> (freeze only: the client hangs until it is
#                                       killed, the server side - its own session, as behind `docker
#                                       exec` - lands the freeze <seconds> after the call started)
#   <dir>/op.qlist                      behaviour of qlist (same words)
#   <dir>/qlist.extra.<product>         raw lines appended to that product's qlist
#   <dir>/events                        "<uptime_cs> <NAME>:<PRODUCT> <event> [detail]"
#   <dir>/calls                         "<uptime_cs> <argv...>" (tab separated)
#   <dir>/clock_scale                   K: every uptime_cs is /proc/uptime x K (the tests' fast
#                                       clock, tests/doubles/clock.py); absent: 1
#
# Exit codes follow the real commands: session calls 5 = success, 3 = failure,
# 1 = instance down / unknown / access denied; qlist and stat 0.
set -u
me=${0##*/}
case $0 in
*/*) bindir=${0%/*} ;;
*) bindir=. ;;
esac
D=${IRIS_DOUBLE_DIR:-$bindir/..}
K=1
[ -f "$D/clock_scale" ] && read -r K <"$D/clock_scale"

now() {
	read -r up _ </proc/uptime
	s=${up%.*} f=${up#*.}
	f=${f#0}
	NOW=$(((s * 100 + f) * K))
}

# The server side of a serverlate freeze: `<cmd> __land DIR NAME PRODUCT WDL EFT SECONDS`.
if [ "${1-}" = __land ]; then
	sleep "$7"
	I=$2
	now
	printf '%s %s %s\n' "$NOW" "$5" "$6" >"$I/frozen"
	printf '%s %s:%s freeze WDSuspendLimit=%s ExternalFreezeTimeOut=%s server-side-late\n' "$NOW" "$3" "$4" "$5" "$6" >>"$D/events"
	exit 0
fi
now
# One write per line (O_APPEND): calls of the watchdog and of the scripts never interleave in a line.
line="$NOW	$me"
for a in "$@"; do line="$line	$a"; done
printf '%s\n' "$line" >>"$D/calls"

event() { # name event [detail]  (product: $P, set by instance)
	now
	printf '%s %s:%s %s\n' "$NOW" "$1" "$P" "$2${3:+ $3}" >>"$D/events"
}

behave() { # file: apply fail/hang/delay/exit; returns normally to proceed
	[ -f "$1" ] || return 0
	read -r b arg <"$1" || [ -n "${b-}" ] || return 0
	case $b in
	fail) return 3 ;;
	hang) sleep 120; exit 1 ;;
	hang-if-frozen)
		_hn=${1%/op.*}
		if (frozen "${_hn##*/}"); then sleep 120; exit 1; fi
		;;
	delay) sleep "$arg" ;;
	exit) exit "$arg" ;;
	landexit) LANDEXIT=$arg ;;
	serverlate) SERVERLATE=$arg ;;
	esac
	return 0
}
LANDEXIT='' SERVERLATE='' P=''


# done_exit CODE: exit CODE, or the landexit code when one is set.
done_exit() {
	exit "${LANDEXIT:-$1}"
}

# up STATUS: sessions are possible (running, or sign-on inhibited for %SYS).
up() {
	case $1 in
	running* | 'sign-on inhibited'*) return 0 ;;
	esac
	return 1
}

# frozen NAME: 0 when frozen now; applies the WDSuspendLimit auto-thaw.
frozen() {
	fz="$I/frozen"
	[ -f "$fz" ] || return 1
	read -r t wdl _eft <"$fz" || return 1
	[ "$t" != none ] || return 1
	if [ -n "$wdl" ] && [ "$wdl" != 0 ]; then
		now
		lim=$((t + wdl * 100))
		if [ "$NOW" -ge "$lim" ]; then
			# First one to notice records the auto-thaw (noclobber marker).
			if (set -C && : >"$fz.auto.$t") 2>/dev/null; then
				printf 'none\n' >"$fz"
				printf '%s %s:%s auto-thaw WDSuspendLimit=%s\n' "$lim" "$1" "$P" "$wdl" >>"$D/events"
			fi
			return 1
		fi
	fi
	return 0
}

qlist() { # product
	if [ -f "$D/op.qlist" ]; then
		behave "$D/op.qlist" || exit 1
	fi
	for dir in "$D/instances/$1"/*; do
		[ -f "$dir/product" ] || continue
		p=$1
		read -r st <"$dir/status"
		n=${dir##*/}
		case $st in
		running) st='running, since Fri Nov 27 08:00:00 2026' ;;
		down) st='down, Last used Fri Nov 27 07:00:00 2026' ;;
		esac
		if [ "$1" = iris ]; then prod=IRIS dirn=/usr/irissys; else prod=Cache dirn=/usr/cachesys; fi
		printf '%s^%s^2024.1.0.262.0^%s^%s.cpf^1972^52773^0^ok^%s^^^%s/mgr/^1972/52773/0\n' \
			"$n" "$dirn" "$st" "$p" "$prod" "$dirn"
	done
	[ -f "$D/qlist.extra.$1" ] && cat "$D/qlist.extra.$1"
	exit 0
}

instance() { # name product -> I (dir), P (product) or exit 1
	I="$D/instances/$2/$1" P=$2
	if [ ! -f "$I/product" ]; then
		echo "Instance '$1' not found"
		exit 1
	fi
}

stat_w() { # name product
	instance "$1" "$2"
	behave "$I/op.stat" || exit 1
	IFS= read -r st <"$I/status"
	if ! up "$st"; then
		echo "Instance '$1' is not running"
		exit 1
	fi
	printf 'none\n' >"$I/frozen"
	event "$1" stat-W
	echo "Write daemon resumed"
	exit 0
}

session() { # name product namespace expr
	instance "$1" "$2"
	if [ "$3" != %SYS ]; then
		echo "<NAMESPACE>"
		exit 1
	fi
	IFS= read -r st <"$I/status"
	if ! up "$st"; then
		echo "Instance '$1' is not running"
		exit 1
	fi
	auth=os
	[ -f "$I/auth" ] && read -r auth <"$I/auth"
	if [ "$auth" = password ] || [ -f "$I/op.login" ]; then
		printf 'Username: '
		behave "$I/op.login" || { echo; echo "Access Denied"; event "$1" login-denied; exit 1; }
		if ! IFS= read -r u; then
			echo; echo "Access Denied"; event "$1" login-denied; exit 1
		fi
		printf 'Password: '
		IFS= read -r pw || pw=''
		ok=0
		if [ -f "$I/credentials" ]; then
			{ IFS= read -r cu; IFS= read -r cp; } <"$I/credentials"
			[ "$u" = "$cu" ] && [ "$pw" = "$cp" ] && ok=1
		fi
		if [ "$ok" != 1 ]; then
			echo; echo "Access Denied"; event "$1" login-denied; exit 1
		fi
		echo
		event "$1" login-ok
		case $(env) in *"$cp"*) event "$1" secret-in-environment ;; esac
	fi
	if [ -z "$4" ]; then
		code_session "$1"
	fi
	case $4 in
	'##Class(Backup.General).ExternalFreeze('*')')
		args=${4#*ExternalFreeze(}
		args=${args%)}
		set -f
		oldifs=$IFS
		IFS=,
		# shellcheck disable=SC2086
		set -- "$1" $args
		IFS=$oldifs
		set +f
		name=$1
		eft=${8-}
		wdl=${11-}
		behave "$I/op.freeze" || { event "$name" freeze-fail; exit 3; }
		if [ -n "$SERVERLATE" ]; then
			setsid "$0" __land "$I" "$name" "$P" "${wdl:-0}" "${eft:-0}" "$SERVERLATE" </dev/null >/dev/null 2>&1 &
			sleep 120
			exit 1
		fi
		if frozen "$name"; then
			echo "ExternalFreeze: system is already frozen"
			event "$name" freeze-fail already-frozen
			exit 3
		fi
		now
		printf '%s %s %s\n' "$NOW" "${wdl:-0}" "${eft:-0}" >"$I/frozen"
		event "$name" freeze "WDSuspendLimit=${wdl:-} ExternalFreezeTimeOut=${eft:-}"
		echo "System suspended"
		done_exit 5
		;;
	'##Class(Backup.General).ExternalThaw()')
		behave "$I/op.thaw" || { event "$1" thaw-fail; exit 3; }
		if frozen "$1"; then
			printf 'none\n' >"$I/frozen"
			event "$1" thaw
			echo "System resumed"
			done_exit 5
		fi
		event "$1" thaw-fail not-frozen
		echo "ExternalThaw: system is not frozen"
		exit 3
		;;
	'##Class(Backup.General).IsWDSuspendedExt()')
		behave "$I/op.suspended" || exit 3
		if frozen "$1"; then exit 5; fi
		exit 3
		;;
	*)
		echo "<SYNTAX>"
		exit 1
		;;
	esac
}

# code_session NAME: ObjectScript lines on stdin until halt (only the hooks' role query is known).
code_session() {
	while IFS= read -r line; do
		case $line in
		halt) exit 0 ;;
		*IRISBACKUP-MIRROR*)
			behave "$I/op.mirror" || { echo "<UNDEFINED>"; continue; }
			ms=NOTINIT mr=1
			[ -f "$I/mirror" ] && read -r ms <"$I/mirror"
			[ -f "$I/failover_ready" ] && read -r mr <"$I/failover_ready"
			event "$1" mirror-status "$ms $mr"
			printf '%%SYS>\nIRISBACKUP-MIRROR|%s|%s\n' "$ms" "$mr"  # the terminal's prompt, then the write
			;;
		*) echo "<SYNTAX>" ;;
		esac
	done
	exit 0
}

# session argument shapes: NAME -U %SYS EXPR | NAME -U%SYS EXPR | NAME -U %SYS (code on stdin)
session_args() { # product args...
	prod=$1
	shift
	[ "$#" -ge 1 ] || { echo "usage"; exit 1; }
	name=$1
	shift
	case ${1-} in
	-U)
		ns=${2-}
		shift 2 || exit 1
		;;
	-U*)
		ns=${1#-U}
		shift
		;;
	*) ns=USER ;;
	esac
	[ "$#" -le 1 ] || { echo "expected one expression"; exit 1; }
	session "$name" "$prod" "$ns" "${1-}"
}

case $me in
iris)
	case ${1-} in
	qlist) qlist iris ;;
	stat)
		[ "$#" -eq 3 ] && [ "$3" = -W ] || { echo "usage: iris stat NAME -W"; exit 1; }
		stat_w "$2" iris
		;;
	session)
		shift
		session_args iris "$@"
		;;
	*) echo "iris: unsupported: $*"; exit 1 ;;
	esac
	;;
ccontrol)
	case ${1-} in
	qlist) qlist cache ;;
	stat)
		[ "$#" -eq 3 ] && [ "$3" = -W ] || { echo "usage: ccontrol stat NAME -W"; exit 1; }
		stat_w "$2" cache
		;;
	*) echo "ccontrol: unsupported: $*"; exit 1 ;;
	esac
	;;
csession) session_args cache "$@" ;;
*) echo "iris double: called as $me"; exit 1 ;;
esac
