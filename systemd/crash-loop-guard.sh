#!/bin/sh
# ExecCondition= of massage-hub.service: end a crash loop without refusing manual restarts.
#
# systemd's StartLimitBurst= counts every start, so after a few crashes and config fixes it
# refused `systemctl restart`. This counts automatic restarts only: NRestarts is reset by
# any start that is not one (systemctl start/restart, boot). The times of automatic restarts
# go to LOG; the 6th within 5 minutes is skipped (exit 1: the unit goes inactive with result
# exec-condition, every output off) until someone starts it. If systemctl cannot answer
# (no D-Bus), the start goes ahead.
#
#   crash-loop-guard.sh UNIT LOG
unit=$1
log=$2
limit=5
window=300
n=$(systemctl show -P NRestarts "$unit" 2>/dev/null) || n=0
if [ -z "$n" ] || [ "$n" = 0 ]; then
  rm -f "$log"
  exit 0
fi
now=$(date +%s)
echo "$now" >>"$log"
recent=0
for t in $(cat "$log"); do
  [ "$t" -gt $((now - window)) ] && recent=$((recent + 1))
done
[ "$recent" -le "$limit" ] && exit 0
echo "crash loop: $recent automatic restarts in 5 minutes; staying stopped, all off." \
  "Fix the cause (journalctl -u $unit), then: sudo systemctl restart $unit" >&2
exit 1
