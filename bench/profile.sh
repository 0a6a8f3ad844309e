#!/bin/sh
# Profile hubsd's router under fan-out load with py-spy (self time per function).
#   bench/profile.sh OUT_PREFIX fanout.py-arguments...
# e.g. bench/profile.sh /tmp/sustained --mode run --rooms 17 --duration 25
#      bench/profile.sh /tmp/rules --target hubsd-rooms --mode run --rooms 12
# VENV names the virtualenv with hubsd's dependencies and py-spy (default:
# .venv of this tree). INCLUSIVE (default hubsd/rooms/) also lists the
# inclusive time of the functions in those files. SETTLE (default 8) is the
# seconds between the router's start and the sampling: set-up and warm-up.
# py-spy samples without pausing the router (--nonblocking) and runs on the
# generator's core so the router keeps core 0 to itself.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv=${VENV:-$here/../.venv}
py="$venv/bin/python"
out=$1
shift
"$py" "$here/fanout.py" --target hubsd "$@" --json-out "$out.json" > "$out.log" 2>&1 &
bench=$!
pid=""
for _ in $(seq 60); do
    # pgrep fails until the router has started; keep polling until then.
    if pid=$(pgrep -n -f "hubsd --config /tmp/bench-hubsd-"); then
        break
    fi
    sleep 0.5
done
[ -n "$pid" ] || { echo "hubsd did not start"; kill "$bench"; exit 1; }
sleep "${SETTLE:-8}"  # connections up, warm-up done
taskset -c 1 "$venv/bin/py-spy" record --nonblocking --pid "$pid" --duration 12 \
    --rate 200 --format raw --output "$out.folded" > /dev/null 2>&1
wait "$bench"
cat "$out.log"
"$py" "$here/pyspy_summary.py" "$out.folded" --inclusive "${INCLUSIVE:-hubsd/rooms/}"
