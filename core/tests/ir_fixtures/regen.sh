#!/bin/sh
# Recreate the IR test fixtures from the real tools and kernel. Needs root, strace, python3,
# iptables-legacy (1.8.9). Every load happens in a fresh network namespace (`unshare -n`,
# re-running this script inside it), which vanishes when the command ends; the host's tables
# are never touched.
#
# For each NAME.rules (one table, iptables-restore syntax):
#   NAME.replace   the IPT_SO_SET_REPLACE optval iptables-legacy-restore -c sent (via strace)
#   NAME.info      the kernel's IPT_SO_GET_INFO reply afterwards (84 bytes)
#   NAME.blob      the kernel's IPT_SO_GET_ENTRIES entry table afterwards
#   NAME.save      iptables-legacy-save -t TABLE, without its two "#" comment lines
#   NAME.save-c    the same with -c
# For each hand-crafted fixture (capture.py crafted): NAME.replace is built by capture.py and
# loaded with a raw setsockopt; the other files are captured the same way. When
# iptables-legacy-save cannot read such a table, NAME.save holds its error output instead,
# after a line "# iptables-legacy-save failed".
set -eu
cd "$(dirname "$0")"

save() { # TABLE NAME
	if iptables-legacy-save -t "$1" >"$2.save.tmp" 2>&1; then
		grep -av '^#' "$2.save.tmp" >"$2.save"
		iptables-legacy-save -c -t "$1" | grep -av '^#' >"$2.save-c"
	else
		{ echo "# iptables-legacy-save failed"; cat "$2.save.tmp"; } >"$2.save"
		cp "$2.save" "$2.save-c"
	fi
	rm -f "$2.save.tmp"
}

case "${1-}" in
--inside-rules) # NAME TABLE, in a fresh netns
	strace -f -e trace=setsockopt -xx -s 1000000 -o "$2.strace" \
		iptables-legacy-restore -c <"$2.rules"
	python3 capture.py strace "$2.strace" >"$2.replace"
	rm -f "$2.strace"
	python3 capture.py kernel "$3" "$2"
	save "$3" "$2"
	exit 0
	;;
--inside-crafted) # NAME TABLE, in a fresh netns
	python3 capture.py load "$2.replace"
	python3 capture.py kernel "$3" "$2"
	save "$3" "$2"
	exit 0
	;;
esac

for rules in *.rules; do
	name=${rules%.rules}
	table=$(sed -n 's/^\*//p' "$rules" | head -n 1)
	unshare -n "$0" --inside-rules "$name" "$table"
	echo "$name: $(wc -c <"$name.replace") byte replace, $(wc -c <"$name.blob") byte blob"
done

for name in $(python3 capture.py crafted); do
	python3 capture.py craft "$name" >"$name.replace"
	table=$(head -c 32 "$name.replace" | tr -d '\0')
	unshare -n "$0" --inside-crafted "$name" "$table"
	echo "$name: crafted, $(wc -c <"$name.blob") byte blob"
done
