#!/usr/bin/env bash
# Peer comparison: plait-bench vs Dask, Hamilton and OpenStack TaskFlow.
#
#   bench/peers/run.sh [--no-build] [peers.py options]
#
# Creates (or reuses) bench/peers/.venv, installs requirements.txt into it,
# builds plait-bench in release, then runs peers.py with the other arguments:
#   --tasks-layered N (10000)  --tasks-chain N (10000)  --tasks-wide N (100000)
#   --repeat R (3, median)  --quick  --only plait,dask,hamilton,taskflow
#   --workloads layered,chain,wide,sleepy  --jobs J (cores)  --timeout S (120)
#   --markdown  --json-out FILE
# Environment: PYTHON (interpreter for the venv, default python3).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"

build=1
args=()
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    *) args+=("$arg") ;;
  esac
done

log() { printf '[peers] %s\n' "$*" >&2; }

setup_venv() {
  if [[ ! -x "$venv/bin/python" ]]; then
    log "creating $venv"
    "$python" -m venv "$venv"
  fi
  # Reinstall only when the pins change.
  local stamp="$venv/.requirements.sha256" want
  want="$(cat "$here/requirements.txt" "$here/constraints.txt" | sha256sum | cut -d' ' -f1)"
  if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]]; then
    log "installing requirements.txt"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      -r "$here/requirements.txt"
    echo "$want" >"$stamp"
  fi
}

build_plait() {
  if [[ "$build" == 0 ]]; then
    log "--no-build: using ${PLAIT_BENCH:-target/release/plait-bench} as it is"
    return
  fi
  log "cargo build --release -p plait-bench"
  if ! (cd "$repo" && cargo build --release -p plait-bench); then
    log "WARNING: plait-bench failed to build; plait rows are skipped"
    export PLAIT_BENCH=""
    return
  fi
  if [[ ! -x "$repo/target/release/plait-bench" ]]; then
    log "WARNING: the build produced no target/release/plait-bench binary yet; plait rows are skipped"
  fi
}

setup_venv
build_plait
cd "$repo"
exec "$venv/bin/python" "$here/peers.py" ${args[@]+"${args[@]}"}
