#!/bin/bash
# A services.yaml of 1,000 and 10,000 services (120 KB and 1.2 MB) read by
# every stage (issue 16: any config of 1 MB or less in linear time and at
# most 64 MB): CPU time and peak RSS, failing on 15x the time for 10x the
# services.  Each merge and service look-up once walked cJSON's lists:
# 10,000 services took 1-2 s in phx-report and phx-deploy, 4 s in phx-probe.
set -u
cd "$(dirname "$0")/../.." || exit 2
PHX_BIN=${PHX_BIN:-$PWD/tools}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/phx-config.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
[ -x /usr/bin/time ] || { echo "config: /usr/bin/time missing (make deps)" >&2; exit 2; }

for n in 1000 10000; do
	awk -v n=$n 'BEGIN {
		print "deployment:\n  compose_file: /nonexistent/compose.yaml\nservices:"
		for (i = 0; i < n; i++)
			printf "  svc-%d:\n    url: http://127.0.0.1:9/s%d/health\n    conditions:\n      - \"[STATUS] == 200\"\n      - \"[BODY].status == UP\"\n", i, i
	}' >"$tmp/svc$n.yaml"
done

bad=0
printf '%-14s %10s %10s %7s %9s\n' stage "cpu 1k" "cpu 10k" ratio "rss 10k"
for stage in deploy probe functest secscan report; do
	for n in 1000 10000; do
		args=(-c "$tmp/svc$n.yaml")
		[ $stage = deploy ] && args+=(-n up)
		[ $stage = report ] && args+=(-n)
		/usr/bin/time -f '%U %S %M' -o "$tmp/t" "$PHX_BIN/phx-$stage" "${args[@]}" \
		    </dev/null >/dev/null 2>"$tmp/err"
		if grep -q 'the limit' "$tmp/err"; then
			echo "config: phx-$stage: $(head -n 1 "$tmp/err")" >&2
			exit 1
		fi
		# the last line: a failing exit adds one before it
		read -r u s rss < <(tail -n 1 "$tmp/t")
		eval "cpu$n=$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }') rss$n=$rss"
	done
	# 10 ms steps: 0.01 s is the floor of the small one
	ratio=$(awk -v a="$cpu1000" -v b="$cpu10000" 'BEGIN { print b / (a < 0.01 ? 0.01 : a) }')
	printf '%-14s %9.2fs %9.2fs %6.1fx %6d KB\n' "phx-$stage" "$cpu1000" "$cpu10000" "$ratio" "$rss10000"
	if awk -v r="$ratio" 'BEGIN { exit !(r >= 15) }' || [ "$rss10000" -gt $((64 * 1024)) ]; then
		echo "config: phx-$stage is superlinear or over 64 MB" >&2
		bad=1
	fi
done
[ $bad = 0 ] && echo "config: every stage linear, RSS within 64 MB at 1.2 MB"
exit $bad
