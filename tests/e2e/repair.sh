#!/usr/bin/env bash
# Interrupted replaces laid out by hand exactly as a `kill -9` leaves them, and the repair the
# next command makes (umh/src/service/bpf.rs, module docs):
#   1. killed after the old table directory went and before the new one took its name: only
#      filter_new/ is left. The next command must put the saved table back in force, retire
#      the orphan links and leave exactly one filter/ with three links.
#   2. the first replace of a namespace killed before its commit: filter_new/ is left and no
#      table was ever saved. The next command must detach those links: the namespace has no
#      bpfilter rules, as its (initial) tables say.
#   tests/e2e/repair.sh BPFILTER_BINARY
set -euo pipefail
BPF=${1:?usage: $0 BPFILTER_BINARY}
tag=bpfrep$$; A=$tag-a; B=$tag-b
state=$(mktemp -d); pins=/sys/fs/bpf/$tag
cleanup() { ip netns del $A 2>/dev/null || true; ip netns del $B 2>/dev/null || true; rm -rf "$state" "$pins"; }
trap cleanup EXIT
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
ip netns add $A; ip netns add $B
fail() { echo "FAIL: $*" >&2; exit 1; }
bx() { local ns=$1; shift; nsenter --net=/run/netns/$ns "$BPF" exec -q --state-dir "$state/$ns" --pin-dir "$pins/$ns" -- "$@"; }
link_ids() { for l in "$1"/link_*; do bpftool link show pinned "$l" | head -n 1 | cut -d: -f1; done; }
# gone ID...: every link id is freed (its last pin and descriptor gone) within 2 s.
gone() {
  for id in "$@"; do
    for _ in $(seq 100); do bpftool link show id "$id" >/dev/null 2>&1 || continue 2; sleep 0.02; done
    fail "link $id still exists"
  done
}
printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p udp -m udp --dport 23 -j DROP\nCOMMIT\n' > "$state/rules"

# 1. Only filter_new/ left (committed, not yet renamed).
bx $A sh -c "iptables-legacy-restore < $state/rules"
dir=$(echo "$pins/$A"/*)
old=$(link_ids "$dir/filter")
[ "$(echo "$old" | wc -w)" = 3 ] || fail "1: three links after the restore: $old"
mv "$dir/filter" "$dir/filter_new"
listed=$(bx $A iptables-legacy -S INPUT)
echo "$listed" | grep -q -- '--dport 23 -j DROP' || fail "1: the saved rule is not listed: $listed"
[ "$(ls "$dir")" = filter ] || fail "1: pins after the repair: $(ls "$dir" | tr '\n' ' ')"
new=$(link_ids "$dir/filter")
[ "$(echo "$new" | wc -w)" = 3 ] || fail "1: three links after the repair: $new"
# shellcheck disable=SC2086
gone $old
echo "1: only filter_new/ left: repaired to one filter/ with links $(echo $new), orphans $(echo $old) gone"

# 2. The first replace, killed before its commit: pins without any saved table.
bx $B sh -c "iptables-legacy-restore < $state/rules"
dir=$(echo "$pins/$B"/*)
old=$(link_ids "$dir/filter")
mv "$dir/filter" "$dir/filter_new"
rm -rf "${state:?}/$B"/*
listed=$(bx $B iptables-legacy -S INPUT)
[ "$listed" = "-P INPUT ACCEPT" ] || fail "2: tables should be the initial ones: $listed"
[ -z "$(ls "$dir")" ] || fail "2: pins left: $(ls "$dir" | tr '\n' ' ')"
# shellcheck disable=SC2086
gone $old
echo "2: uncommitted first replace: links $(echo $old) detached, no pins left"
echo "PASS: interrupted replaces repaired"
