#!/bin/sh
# Test double of util-linux logger(1), first on the hooks' PATH (the iris
# double's bin directory): `logger -t TAG -p FACILITY.SEVERITY -- MESSAGE`
# appends "TAG<tab>FACILITY.SEVERITY<tab>MESSAGE" to <dir>/syslog, where
# <dir> is the iris double's state directory.  <dir>/op.logger holds a
# behaviour: fail (exit 1, nothing recorded) or hang (sleep 120).
set -u
case $0 in
*/*) bindir=${0%/*} ;;
*) bindir=. ;;
esac
D=${IRIS_DOUBLE_DIR:-$bindir/..}
if [ -f "$D/op.logger" ]; then
	read -r b _ <"$D/op.logger" || b=''
	case $b in
	fail) exit 1 ;;
	hang) sleep 120; exit 1 ;;
	esac
fi
tag='' pri=user.notice
while [ "$#" -gt 0 ]; do
	case $1 in
	-t) tag=$2; shift 2 ;;
	-p) pri=$2; shift 2 ;;
	--) shift; break ;;
	-*) echo "logger double: unsupported option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
printf '%s\t%s\t%s\n' "$tag" "$pri" "$*" >>"$D/syslog"
