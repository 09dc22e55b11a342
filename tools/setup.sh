#!/usr/bin/env bash
# Installs every Debian package jepa-lab needs (idempotent: skips what is present).
# Usage: tools/setup.sh            install packages only
#        tools/setup.sh --build    install, then `bazel build //...`
set -euo pipefail

PACKAGES=(
  # toolchain: Bazel 4 (brings gcc/g++ and a JDK), git for the repo, curl for HTTP checks
  bazel-bootstrap build-essential git curl ca-certificates procps
  # tools/check_format.sh (run by tools/test.sh): .clang-format is Google style, 100 columns
  clang-format
  # Bazel's test runner archives each test's undeclared outputs (service logs) with these
  file zip
  # C++ libraries, all from Debian
  libtorch-dev libopenblas0-pthread libgloo-dev libgoogle-glog-dev libgflags-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  prometheus-cpp-dev libgtest-dev libgmock-dev libyaml-cpp-dev libsqlite3-dev nlohmann-json3-dev
  # monitoring: Prometheus server + promtool, Alertmanager + amtool; Python + PyYAML for the
  # Grafana provisioning generator
  python3 python3-yaml
  # bench/reference: the PyTorch port of the _mini model the C++ trainer is benchmarked against
  # (Debian's python3-torch is built from the same ATen as libtorch-dev)
  python3-torch python3-numpy
  prometheus prometheus-alertmanager
  # tests/plan_e2e_test renders the HTML report headless and checks the screenshot
  chromium
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${#missing[@]} package(s): ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all ${#PACKAGES[@]} packages present" >&2
fi

# The services bind 127.0.0.1 and the TLS tests reach them as "localhost" (the name in the test
# certificate). A bare debootstrap root has no /etc/hosts, so "localhost" does not resolve there.
if ! getent hosts localhost >/dev/null 2>&1; then
  echo "setup: localhost does not resolve; adding '127.0.0.1 localhost' to /etc/hosts" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "127.0.0.1 localhost" | $SUDO tee -a /etc/hosts >/dev/null
fi

if [ "${1:-}" = "--build" ]; then
  cd "$(dirname "$0")/.."
  bazel build //...
fi
