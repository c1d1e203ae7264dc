#!/bin/sh
# Test double of the clock commands the hooks run: sleep(1) and timeout(1)
# (this one script, dispatched on the name it is called by; `sleep` and
# `timeout` beside it are symlinks).  The hooks' tests put this directory
# first on the hooks' PATH (iris_path) and set IRISBACKUP_TEST_TIME_SCALE=K:
# every duration is divided by K, so that the hooks, whose own clock (ib_now)
# runs K times faster under the same variable, see the seconds they asked for.
# Without the variable (K=1) both commands are the real ones, unchanged.
# Never installed on a VM: it lives under tests/.
set -u
set -f
me=${0##*/}
case $0 in
*/*) self_dir=${0%/*} ;;
*) self_dir=. ;;
esac
K=${IRISBACKUP_TEST_TIME_SCALE:-1}
case $K in
'' | *[!0123456789]* | 0*) K=1 ;;
esac

# The real command of that name: the first one on PATH that is not in this directory.
REAL=''
_ifs=$IFS
IFS=:
for d in $PATH; do
	[ "$d" = "$self_dir" ] && continue
	if [ -f "$d/$me" ] && [ -x "$d/$me" ]; then
		REAL=$d/$me
		break
	fi
done
IFS=$_ifs
if [ -z "$REAL" ]; then
	echo "$me: not found on PATH (clock double in $self_dir)" >&2
	exit 127
fi
[ "$K" = 1 ] && exec "$REAL" "$@"

# scale DURATION -> R: DURATION / K in seconds, to the microsecond, never 0
# (timeout(1) reads 0 as "no limit").  Anything but a plain decimal is kept.
scale() {
	R=$1
	case $1 in
	'' | *[!0123456789.]* | *.*.* | .) return 0 ;;
	esac
	_i=${1%%.*}
	_f=''
	case $1 in *.*) _f=${1#*.} ;; esac
	_f=${_f}000000
	_f=${_f%"${_f#??????}"}
	while :; do
		case $_f in 0?*) _f=${_f#0} ;; *) break ;; esac
	done
	while :; do
		case $_i in 0?*) _i=${_i#0} ;; *) break ;; esac
	done
	_us=$(((${_i:-0} * 1000000 + _f) / K))
	[ "$_us" -gt 0 ] || _us=1
	_r=$((_us % 1000000))
	case $_r in
	?) _r=00000$_r ;;
	??) _r=0000$_r ;;
	???) _r=000$_r ;;
	????) _r=00$_r ;;
	?????) _r=0$_r ;;
	esac
	R=$((_us / 1000000)).$_r
}

case $me in
sleep)
	n=$#
	while [ "$n" -gt 0 ]; do
		scale "$1"
		shift
		set -- "$@" "$R"
		n=$((n - 1))
	done
	exec "$REAL" "$@"
	;;
timeout)
	# timeout [-k DURATION] [-s SIGNAL] [--long-options] DURATION COMMAND [ARG]...
	n=$#
	dur=1
	while [ "$n" -gt 0 ]; do
		a=$1
		shift
		n=$((n - 1))
		case $a in
		-k | -s)
			set -- "$@" "$a"
			[ "$n" -gt 0 ] || break
			b=$1
			shift
			n=$((n - 1))
			if [ "$a" = -k ]; then scale "$b"; b=$R; fi
			set -- "$@" "$b"
			;;
		-*) set -- "$@" "$a" ;;
		*)
			if [ "$dur" = 1 ]; then
				scale "$a"
				a=$R
				dur=0
			fi
			set -- "$@" "$a"
			while [ "$n" -gt 0 ]; do
				set -- "$@" "$1"
				shift
				n=$((n - 1))
			done
			;;
		esac
	done
	exec "$REAL" "$@"
	;;
*)
	echo "clock double: called as $me" >&2
	exit 2
	;;
esac
