#!/usr/bin/env bash
# Fails (exit 1) naming every C++ file that clang-format (.clang-format: Google, 100 columns)
# would change. Fix with: tools/check_format.sh --fix
set -uo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null; then
  echo "check_format: clang-format not found (tools/setup.sh installs it)" >&2
  exit 1
fi
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.cc' '*.h' | grep -v '^third_party/')
else
  mapfile -t files < <(find . -path ./third_party -prune -o \( -name '*.cc' -o -name '*.h' \) -print)
fi
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
bad=()
for file in "${files[@]}"; do
  clang-format --dry-run -Werror "$file" >/dev/null 2>&1 || bad+=("$file")
done
if ((${#bad[@]})); then
  printf 'not clang-formatted: %s\n' "${bad[@]}"
  echo "format: ${#bad[@]} file(s) differ from clang-format; run tools/check_format.sh --fix"
  exit 1
fi
echo "format: ${#files[@]} C++ files clang-formatted" >&2
