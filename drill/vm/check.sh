#!/bin/sh
# Restore-drill check: runs as root on a VM built from restored disks, through a managed Run Command.
# For each IRIS/Cache instance: disarm what reaches out at startup, start it (WIJ and journal recovery
# run as on any start after a crash), detect a start that failed or stopped for an operator, run
# CheckList^Integrity over every database, stop it. The LAST output line is the result:
#   DRILL-RESULT {"v":1,"verdict":"passed|integrity-errors|did-not-start|could-not-check","instances":[...]}
#
# Inputs (shell assignments the drill puts in front of this script; every value is validated by the
# stack settings, so they need no quoting beyond what the drill writes):
#   DRILL_INSTANCES      "NAME:iris NAME:cache ..."; empty: every instance `qlist` shows
#   DRILL_CREDENTIALS    file with a username line and a password line; empty: OS authentication
#                        (root must be an enabled OS-authenticated user, as for the backup hooks)
#   DRILL_START_TIMEOUT  seconds one `start` may take (default 1800)
#   DRILL_MAXPROC        CheckList^Integrity worker processes (default 8, the documented default)
#
# Why these disarms (InterSystems Configuration Parameter File Reference; the instance is down,
# so editing the CPF is the documented way, and the VM is thrown away afterwards):
#   [Startup] SystemStart=0  SYSTEM^%ZSTART does not run (docs: RACS_SystemStart / RACS_ProcessStart)
#   [Startup] ZSTU=0         the legacy ^ZSTU does not run (docs: RACS_ZSTU)
#   [MirrorMember] JoinMirror=0  the mirror configuration is ignored at startup, so a restored failover
#                            member never tries to become primary (docs: RCPF_JOINMIRROR)
# A mirror member, once up (and never a primary: JoinMirror=0), loses its mirror before the integrity
# check: SYS.Mirror.RemoveMirrorConfiguration(1,0,0) removes the mirror configuration and clears the
# mirrored attribute of its databases (DeleteDB=1), keeps the mirror journal files (CleanJournal=0;
# the default 1 deletes them) and the SSL/TLS setup (CleanSSL=0) (class reference SYS.Mirror); restored
# mirrored databases are read-only until they leave the mirror (High Availability Guide, "Copying a
# mirrored database to a non-mirrored system"); those left unmounted are then mounted.
# Productions, task schedules and ECP are not disarmed here: network isolation of the sandbox is the
# control for them (docs/restore-drill.md).
set -u

START_TIMEOUT=${DRILL_START_TIMEOUT:-1800}
MAXPROC=${DRILL_MAXPROC:-8}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/irisdrill.XXXXXX") || { echo 'DRILL-RESULT {"v":1,"verdict":"could-not-check","reason":"no-temp-dir","instances":[]}'; exit 0; }
RESULTS=""

log() { printf '%s drill: %s\n' "$(date -u +%H:%M:%S)" "$*"; }

json_str() { # escape for a JSON string: backslash and double quote (names and paths hold no controls)
	printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'
}

ctl() { # product -> control command
	if [ "$1" = cache ]; then echo ccontrol; else echo iris; fi
}

# qlist_field NAME PRODUCT N: field N of the instance's qlist line (^-separated)
qlist_field() {
	"$(ctl "$2")" qlist 2>/dev/null | awk -F'^' -v n="$1" -v f="$3" '$1 == n { print $f; exit }'
}

instances() {
	if [ -n "${DRILL_INSTANCES:-}" ]; then
		# shellcheck disable=SC2086 # a space-separated list of NAME:product words
		printf '%s\n' $DRILL_INSTANCES
		return
	fi
	for p in iris cache; do
		command -v "$(ctl $p)" >/dev/null 2>&1 || continue
		"$(ctl $p)" qlist 2>/dev/null | awk -F'^' -v p="$p" 'NF > 3 { print $1 ":" p }'
	done
}

# session NAME PRODUCT < code: ObjectScript on stdin in %SYS, credentials first when configured
session() {
	{
		if [ -n "${DRILL_CREDENTIALS:-}" ]; then
			cat "$DRILL_CREDENTIALS"
		fi
		cat
		echo 'halt'
	} | if [ "$2" = cache ]; then csession "$1" -U %SYS; else iris session "$1" -U %SYS; fi
}

# set_cpf FILE SECTION KEY VALUE: set KEY=VALUE in [SECTION], adding key (and section) when missing
set_cpf() {
	awk -v s="[$2]" -v k="$3" -v v="$4" '
		function add() { if (insec && !done) { print k "=" v; done = 1 } }
		/^\[/ { add(); insec = ($0 == s) }
		insec && index($0, k "=") == 1 { print k "=" v; done = 1; next }
		{ print }
		END { add(); if (!done) { print s; print k "=" v } }
	' "$1" >"$1.drill-new" && cat "$1.drill-new" >"$1" && rm -f "$1.drill-new"
}

# disarm CPF: prints what it disarmed; a mirror member is recognised by a non-empty [MirrorMember] SystemName
disarm() {
	cp -p "$1" "$1.drill-orig" 2>/dev/null
	set_cpf "$1" Startup SystemStart 0 && printf ' SystemStart'
	set_cpf "$1" Startup ZSTU 0 && printf ' ZSTU'
	if awk '/^\[/ { m = ($0 == "[MirrorMember]") } m && /^SystemName=./ { f = 1 } END { exit !f }' "$1.drill-orig"; then
		set_cpf "$1" MirrorMember JoinMirror 0 && printf ' JoinMirror'
	fi
}

mirror_member() { # CPF -> 0 when the instance is configured as a mirror member
	awk '/^\[/ { m = ($0 == "[MirrorMember]") } m && /^SystemName=./ { f = 1 } END { exit !f }' "$1"
}

run_limited() { # seconds cmd...: run with a time limit when timeout(1) exists
	t=$1
	shift
	if command -v timeout >/dev/null 2>&1; then timeout "$t" "$@"; else "$@"; fi
}

# start NAME PRODUCT MGRDIR -> sets START (ok|failed|operator-needed|timeout)
start_instance() {
	run_limited "$START_TIMEOUT" "$(ctl "$2")" start "$1" quietly >"$WORK/$1.start" 2>&1
	rc=$?
	status=$(qlist_field "$1" "$2" 4)
	if [ -f "$3/MISMATCH.WIJ" ] || [ -f "${WIJDIR:-$3}/MISMATCH.WIJ" ]; then
		START=operator-needed # WIJ mismatch: startup waits in single-user mode for ^STURECOV
	elif [ "$rc" = 124 ]; then
		START=timeout
	else
		case $status in
		running*) START=ok ;;
		*inhibited* | *single*) START=operator-needed ;;
		*) START=failed ;;
		esac
	fi
}

# list_dbs NAME PRODUCT FILE: every configured database with its mirror flag and mount state
# (SYS.Database properties), as DRILLDB|mirrored|mounted|dir lines
list_dbs() {
	session "$1" "$2" <<'EOC' >"$3" 2>&1
set rs=##class(%ResultSet).%New("Config.Databases:List") do rs.Execute("*")
for  quit:'rs.Next()  set d=rs.Get("Directory"),db=##class(SYS.Database).%OpenId(d) if $isobject(db) write "DRILLDB|",db.Mirrored,"|",db.Mounted,"|",d,!
EOC
}

# unmirror NAME PRODUCT -> UNMIRROR (ok|failed): the restored copy leaves the mirror (see the header),
# then each database that was mirrored and is not mounted is mounted; the database list is read again.
unmirror() {
	session "$1" "$2" <<'EOC' >"$WORK/$1.unmirror" 2>&1
set sc=##class(SYS.Mirror).RemoveMirrorConfiguration(1,0,0)
write "DRILLUNMIRROR|",$select($system.Status.IsOK(sc):"ok",1:"failed"),!
EOC
	UNMIRROR=$(awk -F'|' '$1 == "DRILLUNMIRROR" { print $2; exit }' "$WORK/$1.unmirror")
	[ "$UNMIRROR" = ok ] || UNMIRROR=failed
	log "$1: mirror configuration removed: $UNMIRROR"
	[ "$UNMIRROR" = ok ] || return 0
	awk -F'|' '$1 == "DRILLDB" && $2 == 1 { print $4 }' "$WORK/$1.dbs" >"$WORK/$1.mirrored"
	list_dbs "$1" "$2" "$WORK/$1.dbs"
	while IFS='|' read -r tag _mirrored mounted dir; do
		if [ "$tag" = DRILLDB ] && [ "$mounted" != 1 ] && grep -qxF "$dir" "$WORK/$1.mirrored"; then
			# an ObjectScript string literal doubles its quotes
			printf 'set sc=##class(SYS.Database).MountDatabase("%s")\n' "$(printf '%s' "$dir" | sed 's/"/""/g')" |
				session "$1" "$2" >/dev/null 2>&1 || log "$1: could not mount $dir"
		fi
	done <"$WORK/$1.dbs"
	list_dbs "$1" "$2" "$WORK/$1.dbs"
}

# integrity NAME PRODUCT -> INTEGRITY (ok|errors|incomplete|not-run), CHECKED, NOT_CHECKED (json items)
integrity() {
	list_dbs "$1" "$2" "$WORK/$1.dbs"
	UNMIRROR=not-needed MIRRORED_GAP=0
	[ "$mirror" = member ] && unmirror "$1" "$2"
	dirs="" CHECKED=0 NOT_CHECKED=""
	while IFS='|' read -r tag mirrored mounted dir; do
		[ "$tag" = DRILLDB ] || continue
		reason=""
		if [ "$mirrored" = 1 ]; then
			reason=still-mirrored # never checked as a mirror member: the drill proves a copy out of the mirror
		elif [ "$mounted" != 1 ] && grep -qxF "$dir" "$WORK/$1.mirrored" 2>/dev/null; then
			reason=not-mounted-after-unmirror
		elif [ "$mounted" != 1 ]; then
			reason=not-mounted
		fi
		case $reason in still-mirrored | not-mounted-after-unmirror) MIRRORED_GAP=1 ;; esac
		if [ -n "$reason" ]; then
			NOT_CHECKED="$NOT_CHECKED${NOT_CHECKED:+,}{\"dir\":\"$(json_str "$dir")\",\"reason\":\"$reason\"}"
			continue
		fi
		dirs="$dirs${dirs:+,}\"$(json_str "$dir")\""
		CHECKED=$((CHECKED + 1))
	done <"$WORK/$1.dbs"
	if [ "$CHECKED" = 0 ]; then
		INTEGRITY=not-run
		return
	fi
	# CheckList^Integrity contract (Data Integrity Guide, "Integrity Check API"): IsOK = no errors;
	# a single $$$IntegrityCheckErrors code = errors found; anything else = the check did not complete.
	session "$1" "$2" <<EOC >"$WORK/$1.integrity" 2>&1
set sc=\$\$CheckList^Integrity(,\$listbuild($dirs),0,,$MAXPROC)
if \$system.Status.IsOK(sc) { write "DRILLINTEGRITY|ok",! } elseif (\$length(\$system.Status.GetErrorCodes(sc),",")=1)&&(\$system.Status.GetErrorText(sc)["ntegrity") { write "DRILLINTEGRITY|errors",! } else { write "DRILLINTEGRITY|incomplete",! }
do Display^Integrity(,1)
kill ^IRIS.TempIntegrityOutput(+\$job)
EOC
	INTEGRITY=$(awk -F'|' '$1 == "DRILLINTEGRITY" { print $2; exit }' "$WORK/$1.integrity")
	[ -n "$INTEGRITY" ] || INTEGRITY=incomplete
}

check_instance() { # NAME PRODUCT
	name=$1 product=$2
	dir=$(qlist_field "$name" "$product" 2)
	cpf=$(qlist_field "$name" "$product" 5)
	state=$(qlist_field "$name" "$product" 4)
	mgr="$dir/mgr"
	mirror=none autostarted=false disarmed="" START=ok start_s=0 INTEGRITY=not-run integ_s=0 CHECKED=0 NOT_CHECKED=""
	UNMIRROR=not-needed MIRRORED_GAP=0
	if [ -z "$dir" ]; then
		START=failed
		log "$name: not installed on this VM (not in qlist)"
	else
		case $cpf in /*) ;; *) cpf="$dir/${cpf:-iris.cpf}" ;; esac
		mirror_member "$cpf" && mirror=member
		case $state in
		running*)
			# Started at boot by the production auto-start: too late to disarm; isolation covered it.
			autostarted=true
			log "$name: already running (auto-started at boot)"
			;;
		*)
			disarmed=$(disarm "$cpf")
			log "$name: disarmed:${disarmed:- nothing}; starting"
			t0=$(date +%s)
			start_instance "$name" "$product" "$mgr"
			start_s=$(($(date +%s) - t0))
			log "$name: start $START after ${start_s}s"
			;;
		esac
	fi
	if [ "$START" = ok ]; then
		t0=$(date +%s)
		integrity "$name" "$product"
		integ_s=$(($(date +%s) - t0))
		log "$name: integrity $INTEGRITY ($CHECKED databases, ${integ_s}s)"
		"$(ctl "$product")" stop "$name" quietly >/dev/null 2>&1 || log "$name: stop failed"
	fi
	# shellcheck disable=SC2086 # the disarmed keys, space-separated
	set -- $disarmed
	dj=""
	for d in "$@"; do dj="$dj${dj:+,}\"$d\""; done
	item="{\"name\":\"$name\",\"product\":\"$product\",\"mirror\":\"$mirror\",\"unmirror\":\"$UNMIRROR\",\"autostarted\":$autostarted,\"disarmed\":[$dj],\"start\":\"$START\",\"start_seconds\":$start_s,\"integrity\":\"$INTEGRITY\",\"integrity_seconds\":$integ_s,\"checked\":$CHECKED,\"not_checked\":[$NOT_CHECKED]}"
	RESULTS="$RESULTS${RESULTS:+,}$item"
	case $START in ok) ;; *) VERDICT_START=1 ;; esac
	case $INTEGRITY in errors) VERDICT_ERRORS=1 ;; ok) ;; *) VERDICT_UNCHECKED=1 ;; esac
	[ "$MIRRORED_GAP" = 1 ] && VERDICT_UNCHECKED=1 # a mirrored database was not checked out of the mirror
}

VERDICT_START=0 VERDICT_ERRORS=0 VERDICT_UNCHECKED=0 COUNT=0
for entry in $(instances); do
	COUNT=$((COUNT + 1))
	check_instance "${entry%%:*}" "${entry#*:}"
done
if [ "$COUNT" = 0 ]; then
	verdict=could-not-check
elif [ "$VERDICT_START" = 1 ]; then
	verdict=did-not-start
elif [ "$VERDICT_ERRORS" = 1 ]; then
	verdict=integrity-errors
elif [ "$VERDICT_UNCHECKED" = 1 ]; then
	verdict=could-not-check
else
	verdict=passed
fi
rm -rf "$WORK"
printf 'DRILL-RESULT {"v":1,"verdict":"%s","instances":[%s]}\n' "$verdict" "$RESULTS"
exit 0
