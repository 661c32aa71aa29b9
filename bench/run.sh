#!/usr/bin/env bash
# `make bench`: zkoracle vs EZKL 23.0.5 on the models in models/, one after the other, written to BENCHMARKS.md.
# Extra arguments go to bench/bench.py (e.g. `bash bench/run.sh --models spread_mlp --systems ezkl`);
# so does $BENCH_ARGS (e.g. `BENCH_ARGS="--models spread_mlp" make bench`).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=bench/.venv
if [[ ! -x $venv/bin/python ]]; then
  python3 -m venv "$venv"
fi
# Reinstall only when the pins change.
stamp=$venv/.requirements.sha256
want=$(cat bench/requirements.txt models/requirements.txt | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
  echo "$want" > "$stamp"
fi

# One cargo at a time on this machine: serialize through the shared lock when flock exists.
# BENCH_SKIP_BUILD=1 benchmarks the binary already built (or $ZKORACLE_BIN).
if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
  lock=()
  if command -v flock >/dev/null 2>&1; then lock=(flock /tmp/zk-cargo.lock); fi
  "${lock[@]}" "${CARGO:-cargo}" build --release --locked --bin zkoracle \
    || echo "bench: cargo build failed; zkoracle columns will read n/a" >&2
fi

# shellcheck disable=SC2086
exec "$venv/bin/python" bench/bench.py ${BENCH_ARGS:-} "$@"
