#!/usr/bin/env bash
# Re-lock every install role from pyproject.toml's direct pins: the whole tree, with hashes, for CPython 3.11
# on linux x86_64 (this machine, CI and python:3.11-slim). Run after changing a pin; commit the results.
# lock.txt (CI and development: everything, test tools included) is locked first; the role locks are
# constrained by it, so a package has one version in every lock.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-uv}
if ! command -v "$UV" >/dev/null; then
  python3 -m venv /tmp/catgan-uv && /tmp/catgan-uv/bin/pip install -q "uv==0.13.8" && UV=/tmp/catgan-uv/bin/uv
fi

compile() {  # compile OUT [EXTRA...]
  local out=$1; shift
  local extras=() constraint=()
  for extra in "$@"; do extras+=(--extra "$extra"); done
  [ "$out" = requirements/lock.txt ] || constraint=(--constraint requirements/lock.txt)
  "$UV" pip compile pyproject.toml "${extras[@]}" "${constraint[@]}" --generate-hashes --quiet \
    --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
    --custom-compile-command "bash requirements/compile.sh" --output-file "$out"
}

compile requirements/lock.txt test        # CI, development, `catgan up` on one machine
compile requirements/api.txt api          # the API image: no TensorFlow, no CUDA
compile requirements/client.txt client    # the CLI and HTTP client alone
compile requirements/worker.txt worker    # a CPU worker
compile requirements/worker-gpu.txt gpu flower  # the worker image: CUDA wheels, and Flower
