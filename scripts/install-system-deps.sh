#!/usr/bin/env bash
# Installs the Debian packages Ganymede needs, only those that are missing, then checks they work.
#
# Usage: scripts/install-system-deps.sh [GROUP...]     GROUP is `run` (the default) or `test`
#   run   what `make start` needs: the real single-user server (jupyterhub-singleuser) with a Python kernel,
#         and python3-venv for JupyterLab's environment (scripts/install-jupyterlab.sh)
#   test  run + Chromium for the browser tests + the sqlite3 CLI + a C compiler for bench/ + slapd
#         + Slurm, munge, sshd and sudo for the Slurm spawner's tests
set -euo pipefail

# jupyterhub provides /usr/bin/jupyterhub-singleuser. python3-notebook (the server it extends) and
# python3-ipykernel (the kernel that runs `print(6*7)`) already come with it as Depends; they are named
# so that they stay installed, and so the reader sees what the tests rely on. python3-venv: the
# environment scripts/install-jupyterlab.sh makes for JupyterLab 4 on top of them.
RUN_PACKAGES=(jupyterhub python3-notebook python3-ipykernel python3-venv git curl ca-certificates)
# fonts-liberation is only a Recommends of chromium-common: without it, --no-install-recommends
# leaves headless Chromium with no fonts for text in pages and screenshots.
# gcc and libc6-dev compile the benchmark's mock user server (bench/mock/mock-server.c); the
# quick benchmark runs in `make test`.
# slapd and ldap-utils: the LDAP authenticator's tests start their own slapd (test/helpers/slapd.ts);
# the system instance the package sets up is not used.
# slurm-wlm and munge: the Slurm spawner's tests start their own munged, slurmctld and slurmd
# (test/helpers/slurm-cluster.ts) on free ports, with slurm.conf in a temporary directory; openssh-server:
# its ssh mode's test starts its own sshd (test/helpers/sshd.ts); sudo: how the spawner submits jobs
# as the user by default.
TEST_PACKAGES=(chromium fonts-liberation sqlite3 gcc libc6-dev slapd ldap-utils slurm-wlm munge openssh-server sudo)
# Services that Debian starts on install and the tests never use: a system munged, and an sshd on
# port 22 open to the network. Stopped again when this script installed them (see below).
UNWANTED_SERVICES=(munge:munge openssh-server:ssh)

usage() {
  echo "usage: $0 [run|test]..." >&2
  exit 2
}

groups=("$@")
if [ ${#groups[@]} -eq 0 ]; then groups=(run); fi

wanted=()
check_chromium=false
for group in "${groups[@]}"; do
  case "$group" in
    run) wanted+=("${RUN_PACKAGES[@]}") ;;
    test) wanted+=("${RUN_PACKAGES[@]}" "${TEST_PACKAGES[@]}"); check_chromium=true ;;
    -h | --help) usage ;;
    *) echo "$0: unknown group '$group'" >&2; usage ;;
  esac
done

missing=()
for pkg in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [ "$status" != "install ok installed" ]; then
    # A package named twice (run is part of test) is listed once.
    [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "system deps (${groups[*]}): all installed"
else
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "$0: not root and no sudo; install as root: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  echo "system deps (${groups[*]}): installing ${missing[*]}"
  echo "+ apt-get update"
  "${sudo[@]}" apt-get update
  echo "+ apt-get install -y --no-install-recommends ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  # Under systemd the packages just installed may have started their services (in a container
  # policy-rc.d usually stops that). slurmd and slurmctld stay down: their units need /etc/slurm/slurm.conf.
  if [ -d /run/systemd/system ]; then
    for entry in "${UNWANTED_SERVICES[@]}"; do
      pkg=${entry%%:*} service=${entry#*:}
      if [[ " ${missing[*]} " == *" $pkg "* ]]; then
        echo "+ systemctl disable --now $service"
        "${sudo[@]}" systemctl disable --now "$service" || true
      fi
    done
  fi
fi

# The checks run every time: a package can be installed yet broken (a Python module removed by hand).
# /usr/bin explicitly, because a python3 or a jupyter earlier in PATH (pyenv, a venv) is not Debian's.
version=$(/usr/bin/jupyterhub-singleuser --version 2>/dev/null) || {
  echo "$0: /usr/bin/jupyterhub-singleuser --version failed" >&2
  exit 1
}
echo "jupyterhub-singleuser $version"
# Importing ipykernel loads debugpy, which warns about frozen modules unless told not to.
kernel=$(PYDEVD_DISABLE_FILE_VALIDATION=1 /usr/bin/python3 -Xfrozen_modules=off -c '
from importlib.metadata import version
from jupyter_client.kernelspec import KernelSpecManager
spec = KernelSpecManager().get_kernel_spec("python3")
print("ipykernel", version("ipykernel") + ",", spec.argv[0])
') || {
  echo "$0: no python3 kernel for the notebook server (package python3-ipykernel)" >&2
  exit 1
}
echo "python3 kernel: $kernel"
if $check_chromium; then
  /usr/bin/chromium --version 2>/dev/null || { echo "$0: /usr/bin/chromium --version failed" >&2; exit 1; }
fi
