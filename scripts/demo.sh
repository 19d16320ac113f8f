#!/usr/bin/env bash
# The main job on its embedded default: build everything, then migrate a demo appliance (Debian 11
# installed like CentOS 7) to Debian 13 in QEMU, and print what happened with a timing table.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec node_modules/.bin/bun test/e2e/run-e2e.ts --demo "$@"
