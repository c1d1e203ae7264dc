# BENCHMARK BASELINE - NOT A PRODUCT SCRIPT.  Never ship or install this on a
# VM: it has no timeouts, no lock, no watchdog, no rollback and no
# "already frozen" check.  The product's hooks are in hooks/.
#
# Used by bench/freeze_window.py to compare the product's freeze window with
# the way the published freeze/thaw scripts work (Microsoft's Cache sample,
# InterSystems' AWS lifecycle script): one `iris session` (Cache: `csession`)
# call per instance, one instance after another, success = exit 5.
#
# Run by the Azure runner double as `sh serial_baseline.sh MODE IRIS_PATH ITEM...`
# (preScriptParams / postScriptParams), where MODE is freeze or thaw,
# IRIS_PATH the directories holding iris/csession, and each ITEM is NAME
# (IRIS) or NAME:cache.  Exit 0 when every call answered 5, else 1; the
# freeze stops at the first failure (as the published scripts do).
set -u
[ "$#" -ge 2 ] || {
	echo "usage: sh serial_baseline.sh freeze|thaw IRIS_PATH NAME[:cache]..."
	exit 2
}
mode=$1
PATH=$2:/usr/bin:/bin
export PATH
shift 2
case $mode in
freeze) expr='##Class(Backup.General).ExternalFreeze()' ;;
thaw) expr='##Class(Backup.General).ExternalThaw()' ;;
*)
	echo "unknown mode $mode"
	exit 2
	;;
esac
case $0 in
*/*) log=${0%/*}/serial_baseline.log ;;
*) log=./serial_baseline.log ;;
esac

status=0
for item in "$@"; do
	name=${item%%:*}
	case $item in
	*:cache) csession "$name" -U%SYS "$expr" </dev/null >/dev/null 2>&1 ;;
	*) iris session "$name" -U %SYS "$expr" </dev/null >/dev/null 2>&1 ;;
	esac
	rc=$?
	printf '%s %s %s exit %s\n' "$(date -u +%H:%M:%S)" "$mode" "$name" "$rc" >>"$log"
	if [ "$rc" != 5 ]; then
		status=1
		[ "$mode" = freeze ] && break
	fi
done
echo "serial baseline $mode: exit $status"
exit "$status"
