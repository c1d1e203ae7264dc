#!/bin/sh
# Test double of `iris`/`ccontrol`/`csession` for the restore-drill check (drill/vm/check.sh):
# start, stop, qlist and terminal sessions fed ObjectScript on stdin. Kept apart from
# iris_double.sh (the backup hooks' double); same state layout under $IRIS_DOUBLE_DIR (or the parent
# of the directory holding the command):
#   instances/<NAME>/product     iris | cache
#   instances/<NAME>/status      running | down | sign-on inhibited
#   instances/<NAME>/root        install directory (holds iris.cpf and mgr/)
#   instances/<NAME>/start       outcome of `start`: ok (default) | fail | mismatch (WIJ mismatch:
#                                MISMATCH.WIJ in mgr/, sign-on inhibited, as InterSystems documents)
#   instances/<NAME>/databases   "<mirrored 0|1> <mounted 0|1> <directory>" per line
#   instances/<NAME>/integrity   outcome of CheckList^Integrity: ok (default) | errors | incomplete
#   instances/<NAME>/credentials username line, password line: sessions must send them first
#   instances/<NAME>/unmirror    outcome of SYS.Mirror.RemoveMirrorConfiguration: ok (default) | fail.
#                                It also fails, as on a primary, when the instance started with
#                                JoinMirror other than 0. DeleteDB=1 clears the mirrored flag of every
#                                database and dismounts those (a mirrored database mounts read-only; the
#                                check mounts them again); CleanJournal=1 deletes <root>/journal/MIRROR-*
#   <root>/journal/              journal files (MIRROR-<mirror>-... for mirror journals)
#   instances/<NAME>/mount       outcome of SYS.Database.MountDatabase: ok (default) | fail
#   events                       "<NAME> <event> [detail]" per line
set -u
me=${0##*/}
case $0 in */*) bindir=${0%/*} ;; *) bindir=. ;; esac
D=${IRIS_DOUBLE_DIR:-$bindir/..}

event() { printf '%s %s\n' "$1" "$2" >>"$D/events"; }

product_of() { case $me in iris) echo iris ;; *) echo cache ;; esac; }

instance() { # NAME -> I, or exit 1 like the real command
	I="$D/instances/$1"
	if [ ! -f "$I/product" ] || [ "$(cat "$I/product")" != "$(product_of)" ]; then
		echo "Instance '$1' not found"
		exit 1
	fi
}

outcome() { # file default
	if [ -f "$1" ]; then cat "$1"; else echo "$2"; fi
}

qlist() {
	for dir in "$D"/instances/*; do
		[ -f "$dir/product" ] && [ "$(cat "$dir/product")" = "$(product_of)" ] || continue
		printf '%s^%s^2024.1.0.262.0^%s^iris.cpf^1972^52773^0^ok^IRIS^^^%s/mgr/^1972/52773/0\n' \
			"${dir##*/}" "$(cat "$dir/root")" "$(cat "$dir/status")" "$(cat "$dir/root")"
	done
	exit 0
}

cpf_value() { # key: its value in the instance's CPF, for the event log
	awk -F= -v k="$1" '$1 == k { v = $2 } END { print v }' "$(cat "$I/root")/iris.cpf"
}

start() {
	instance "$1"
	if [ "$(cat "$I/status")" = running ]; then
		echo "Instance '$1' is already running"
		exit 1
	fi
	event "$1" "start SystemStart=$(cpf_value SystemStart) ZSTU=$(cpf_value ZSTU) JoinMirror=$(cpf_value JoinMirror)"
	case $(outcome "$I/start" ok) in
	ok) echo running >"$I/status"; exit 0 ;;
	mismatch)
		: >"$(cat "$I/root")/mgr/MISMATCH.WIJ"
		echo 'sign-on inhibited' >"$I/status"
		echo "WIJ mismatch: startup needs an operator (^STURECOV)"
		exit 1
		;;
	*) echo "Startup failed; see messages.log"; exit 1 ;;
	esac
}

stop() {
	instance "$1"
	event "$1" stop
	echo down >"$I/status"
	exit 0
}

session() { # NAME -U %SYS, ObjectScript on stdin
	instance "$1"
	[ "${2-}" = -U ] && [ "${3-}" = %SYS ] || { echo "<NAMESPACE>"; exit 1; }
	case $(cat "$I/status") in running) ;; *) echo "Instance '$1' is not running"; exit 1 ;; esac
	if [ -f "$I/credentials" ]; then
		IFS= read -r u || u=''
		IFS= read -r p || p=''
		if [ "$u" != "$(sed -n 1p "$I/credentials")" ] || [ "$p" != "$(sed -n 2p "$I/credentials")" ]; then
			echo "Access Denied"
			event "$1" login-denied
			exit 1
		fi
	fi
	code=$(cat)
	case $code in
	*'Config.Databases:List'*)
		event "$1" dblist
		[ -f "$I/databases" ] || exit 0
		while read -r mirrored mounted dir; do
			printf 'DRILLDB|%s|%s|%s\n' "$mirrored" "$mounted" "$dir"
		done <"$I/databases"
		;;
	*'CheckList^Integrity('*)
		maxproc=$(printf '%s' "$code" | sed -n '/CheckList/s/.*,\([0-9]*\))$/\1/p')
		event "$1" "integrity $(printf '%s' "$code" | sed -n 's/.*[$]listbuild(\([^)]*\)).*/\1/p') maxproc=$maxproc"
		printf 'DRILLINTEGRITY|%s\n' "$(outcome "$I/integrity" ok)"
		;;
	*'RemoveMirrorConfiguration('*) remove_mirror "$1" "$code" ;;
	*'MountDatabase("'*)
		dir=$(printf '%s' "$code" | sed -n 's/.*MountDatabase("\(.*\)").*/\1/p' | sed 's/""/"/g')
		event "$1" "mount $dir"
		[ "$(outcome "$I/mount" ok)" = ok ] || { echo "<DIRECTORY>"; exit 1; }
		# shellcheck disable=SC2016 # an awk program
		set_databases '$3 == d { $2 = 1 } { print }' "$dir"
		;;
	*) echo "<SYNTAX>"; exit 1 ;;
	esac
	exit 0
}

set_databases() { # awk-program dir: rewrite the "<mirrored> <mounted> <dir>" lines
	[ -f "$I/databases" ] || return 0
	awk -v d="$2" "$1" "$I/databases" >"$I/databases.new" && mv "$I/databases.new" "$I/databases"
}

# remove_mirror NAME CODE: SYS.Mirror.RemoveMirrorConfiguration(DeleteDB, CleanJournal, CleanSSL)
remove_mirror() {
	args=$(printf '%s' "$2" | sed -n 's/.*RemoveMirrorConfiguration(\([^)]*\)).*/\1/p')
	event "$1" "remove-mirror $args JoinMirror=$(cpf_value JoinMirror)"
	if [ "$(outcome "$I/unmirror" ok)" != ok ] || [ "$(cpf_value JoinMirror)" != 0 ]; then
		printf 'DRILLUNMIRROR|failed\n'
		return
	fi
	delete_db=$(echo "$args" | cut -d, -f1) clean_journal=$(echo "$args" | cut -d, -f2)
	# shellcheck disable=SC2016 # an awk program
	[ "$delete_db" = 1 ] && set_databases '$1 == 1 { $1 = 0; $2 = 0 } { print }' ""
	[ "${clean_journal:-1}" = 0 ] || rm -f "$(cat "$I/root")"/journal/MIRROR-*
	printf 'DRILLUNMIRROR|ok\n'
}

case $me in
iris | ccontrol)
	case ${1-} in
	qlist) qlist ;;
	start) start "${2-}" ;;
	stop) stop "${2-}" ;;
	session) [ "$me" = iris ] && { shift; session "$@"; } ;;
	esac
	echo "$me: unsupported: $*"
	exit 1
	;;
csession) session "$@" ;;
*) echo "iris drill double: called as $me"; exit 1 ;;
esac
