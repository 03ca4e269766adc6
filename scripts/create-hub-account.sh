#!/usr/bin/env bash
# Creates the unprivileged Unix account the hub drops to after start (config key `user`, default
# ganymede), when it is missing. Started as root, the hub starts its launcher (the one part that keeps
# root, to start each server under its user's uid) and then runs as this account.
#
# Usage: scripts/create-hub-account.sh [NAME]
set -euo pipefail
name=${1:-ganymede}
if getent passwd "$name" >/dev/null; then
  echo "hub account: $name exists"
  exit 0
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "$0: not root and no sudo; as root run: useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin $name" >&2; exit 1; }
  sudo=(sudo)
fi
echo "+ useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin $name"
"${sudo[@]}" useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin "$name"
