#!/usr/bin/env bash
# deps-check.sh - prove that DEPS_DEB (the Makefile's list of Debian
# packages, what `make deps` installs) is complete.
#
#   tests/deps-check.sh trace DIR CMD...   run CMD under strace, recording
#                                          every program it executes and
#                                          every file it opens, in DIR
#   tests/deps-check.sh verify DIR         map what DIR recorded to Debian
#                                          packages; fail naming each one
#                                          a fresh machine would not have
#
# A package is there on a fresh Debian machine when it is Essential, in
# DEPS_DEB, or something they depend on (Depends and Pre-Depends, taken
# recursively, through virtual packages too): make deps installs exactly
# that.  Every other package owning a program that ran or a file that was
# opened (a header, a library, a data file) was only there because someone
# installed it by hand, and the same command on a fresh machine would fail.
#
# .ci/run traces its own make check on its fresh clone, so configure,
# autoreconf, the build and every test are covered without running them
# twice.  strace's seccomp filter stops the traced processes only at
# execve and openat, which leaves the suite's timing alone.  Runs under
# ASan (SANITIZE=1, the fuzzers) cannot be traced: LeakSanitizer refuses
# to run under ptrace; their builds (the compiler and the sanitizer
# runtimes it links) are traced instead.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)

usage() {
	echo "usage: $0 trace DIR CMD... | verify DIR" >&2
	exit 2
}

trace() {
	local dir=$1; shift
	mkdir -p "$dir"
	command -v strace >/dev/null ||
	    { echo "deps-check: strace is missing (make deps)" >&2; exit 1; }
	strace -f --seccomp-bpf -qq -e trace=execve,openat -e signal=none \
	    -o "$dir/trace.$(date +%s%N)" -- "$@"
}

# The absolute paths that were executed or opened with success, once each;
# directories (opened to be listed) are left out: every package owns /usr.
# With -f, a call another process interrupted is split over an
# "<unfinished ...>" line and a "<... resumed>" line.
traced_paths() {
	awk '
	function take(pid, call, rest,    path) {
		if (call == "openat" && rest ~ /O_DIRECTORY/)
			return
		if (!match(rest, /"[^"]*"/))
			return
		path = substr(rest, RSTART + 1, RLENGTH - 2)
		if (path ~ /^\//)
			pend[pid] = path
	}
	function done(pid, res) {
		if (pid in pend && res ~ /= [0-9]+$/ && !(pend[pid] in seen)) {
			seen[pend[pid]] = 1
			print pend[pid]
		}
		delete pend[pid]
	}
	{
		pid = $1
		if (match($0, /^[0-9]+ (execve|openat)\(/)) {
			call = substr($0, length(pid) + 2)
			call = substr(call, 1, index(call, "(") - 1)
			delete pend[pid]
			take(pid, call, $0)
			if ($0 !~ /<unfinished \.\.\.>$/)
				done(pid, $0)
		} else if ($0 ~ /^[0-9]+ <\.\.\. (execve|openat) resumed>/)
			done(pid, $0)
	}' "$@"
}

# aclocal reads every macro file in /usr/share/aclocal to find the macros
# configure.ac uses, and copies those into aclocal.m4: a macro file counts
# only when a macro it defines is in aclocal.m4.
drop_unused_m4() {
	local m4=$top/aclocal.m4 p
	if [ ! -f "$m4" ]; then
		cat
		return
	fi
	while IFS= read -r p; do
		case $p in
		/usr/share/aclocal*/*.m4)
			awk '
			function defs(line) {
				if (match(line, /(AC|AU)_DEFUN(_ONCE)?\(\[?[A-Za-z0-9_]+/)) {
					line = substr(line, RSTART, RLENGTH)
					sub(/.*\(\[?/, "", line)
					return line
				}
				return ""
			}
			FNR == NR { if ((d = defs($0)) != "") used[d] = 1; next }
			{ if ((d = defs($0)) != "" && d in used) { found = 1; exit } }
			END { exit !found }' "$m4" "$p" || continue ;;
		esac
		printf '%s\n' "$p"
	done
}

# Each traced path and the names dpkg may know it by: as written, without
# "..", with symlinks resolved, each with and without the /usr prefix
# (merged /usr: dpkg says /bin/sh and /lib/..., the system /usr/bin/sh).
candidates() {
	local p c
	while IFS= read -r p; do
		case $p in
		/proc/*|/sys/*|/dev/*|/tmp/*|/run/*|"$top"/*) continue ;;
		# Read when there, not needed: systemd-analyze loads every
		# unit installed; glibc falls back to UTC, to the C locale's
		# messages and skips an NSS module that nsswitch.conf names
		# but that is not installed; /etc/ld.so.conf takes whatever
		# ld.so.conf.d/*.conf other packages dropped there.
		*/systemd/system/*|*/systemd/user/*|/etc/localtime|\
		/usr/share/zoneinfo/*|/usr/share/locale/*|/usr/lib/locale/*|\
		*/libnss_*|/etc/ld.so.conf.d/*) continue ;;
		esac
		[ -d "$p" ] && continue
		for c in "$p" "$(realpath -s -m -- "$p")" \
		    "$(realpath -m -- "$p")"; do
			printf '%s\t%s\n' "$p" "$c"
			case $c in
			/usr/bin/*|/usr/sbin/*|/usr/lib/*|/usr/lib32/*|\
			/usr/lib64/*|/usr/libx32/*)
				printf '%s\t%s\n' "$p" "${c#/usr}" ;;
			/bin/*|/sbin/*|/lib/*|/lib32/*|/lib64/*|/libx32/*)
				printf '%s\t%s\n' "$p" "/usr$c" ;;
			esac
		done
	done | sort -u
}

# "PATH<TAB>PACKAGE" for each traced path some installed package owns.
owners() {
	local info=/var/lib/dpkg/info
	awk -F'\t' '
	FNR == NR { want[$2] = want[$2] SUBSEP $1; next }
	($0 in want) {
		pkg = FILENAME
		sub(/.*\//, "", pkg); sub(/\.list$/, "", pkg); sub(/:.*/, "", pkg)
		n = split(want[$0], p, SUBSEP)
		for (i = 2; i <= n; i++)
			print p[i] "\t" pkg
	}' "$1" "$info"/*.list | sort -u
}

# The packages a fresh machine has after make deps: the closure of the
# Essential ones and DEPS_DEB under Depends and Pre-Depends, an
# alternative ("a | b") or a virtual package counting as every installed
# package that satisfies it.
present() {
	dpkg-query -W -f='${db:Status-Abbrev}\t${Package}\t${Essential}\t${Provides}\t${Pre-Depends}, ${Depends}\n' |
	awk -F'\t' -v want="$1" '
	function names(s, out,    n, i, a, x) {
		n = split(s, a, /[,|]/)
		for (i = 1; i <= n; i++) {
			x = a[i]
			sub(/\(.*/, "", x); gsub(/[ \t]/, "", x); sub(/:.*/, "", x)
			if (x != "")
				out[x] = 1
		}
	}
	$1 !~ /^ii/ { next }
	{
		pkg = $2
		inst[pkg] = 1
		deps[pkg] = $5
		split("", pv); names($4, pv)
		for (v in pv)
			prov[v] = prov[v] " " pkg
		if ($3 == "yes")
			queue[++qn] = pkg
	}
	END {
		n = split(want, w, " ")
		for (i = 1; i <= n; i++)
			queue[++qn] = w[i]
		for (qi = 1; qi <= qn; qi++) {
			p = queue[qi]
			if (p in have)
				continue
			have[p] = 1
			split("", d); names(deps[p], d)
			for (x in d) {
				if (x in inst)
					queue[++qn] = x
				m = split(prov[x], pp, " ")
				for (j = 1; j <= m; j++)
					queue[++qn] = pp[j]
			}
		}
		for (p in have)
			if (p in inst)
				print p
	}' | sort -u
}

verify() {
	local dir=$1 list bad
	ls "$dir"/trace.* >/dev/null 2>&1 ||
	    { echo "deps-check: nothing traced in $dir" >&2; exit 1; }
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	list=$(make -s --no-print-directory -C "$top" deps-list)
	traced_paths "$dir"/trace.* | drop_unused_m4 > "$tmp/paths"
	candidates < "$tmp/paths" > "$tmp/cand"
	owners "$tmp/cand" > "$tmp/owned"
	present "$list" > "$tmp/present"
	# A path is fine when any of its owners is present (a file two
	# packages ship, one of them diverted); else each owner is named.
	bad=$(awk -F'\t' '
	FNR == NR { ok[$1] = 1; next }
	{ own[$1] = own[$1] " " $2; if ($2 in ok) fine[$1] = 1 }
	END {
		for (p in own)
			if (!(p in fine)) {
				n = split(own[p], o, " ")
				for (i = 1; i <= n; i++)
					print o[i] "\t" p
			}
	}' "$tmp/present" "$tmp/owned" | sort)
	echo "deps-check: $(wc -l < "$tmp/paths") programs and files used," \
	    "$(cut -f2 "$tmp/owned" | sort -u | wc -l) packages," \
	    "$(wc -l < "$tmp/present") present after make deps"
	if [ -n "$bad" ]; then
		echo "deps-check: FAILED: these packages were used but a fresh" \
		    "machine would not have them; add them to DEPS_DEB in the" \
		    "Makefile:"
		printf '%s\n' "$bad" | awk -F'\t' '
		{ if (!($1 in n)) order[++k] = $1; n[$1]++
		  if (n[$1] <= 3) ex[$1] = ex[$1] "\n      " $2 }
		END { for (i = 1; i <= k; i++) {
			p = order[i]
			printf "  %s (%d files), e.g.:%s\n", p, n[p], ex[p] } }'
		exit 1
	fi
	echo "deps-check: DEPS_DEB is complete"
}

[ $# -ge 2 ] || usage
case $1 in
trace)	shift; [ $# -ge 2 ] || usage; trace "$@" ;;
verify)	[ $# -eq 2 ] || usage; verify "$2" ;;
*)	usage ;;
esac
