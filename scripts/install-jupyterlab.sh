#!/usr/bin/env bash
# Installs JupyterLab 4 (and Notebook 7) for the users' servers into a Python virtual environment,
# with a jupyterhub-singleuser that starts them; the hub's default spawner.cmd is that command when
# it exists (src/config/single-user-server.ts). Debian 12 ships only the classic Notebook 6.4.
#
# Usage: scripts/install-jupyterlab.sh [VENV]       VENV defaults to .venv in the repository
#
# The environment is made by Debian's Python with --system-site-packages, so that Debian's
# jupyterhub (the single-user server's hub side) and ipykernel (the python3 kernel) stay visible.
# pip installs from whatever index it is configured for (PyPI, or a local mirror in pip.conf).
# When pip cannot install, this script warns and exits 0: servers then run Debian's classic Notebook.
# The Makefile runs it once, then again only when this script changes (the stamp file below).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Absolute: the path goes into the #! line of the command written below.
venv=$(realpath -m "${1:-$repo/.venv}")
# Debian's interpreter by its path: a python3 earlier in PATH (pyenv) does not see Debian's packages.
PYTHON=/usr/bin/python3
REQUIREMENTS=('jupyterlab>=4,<5' 'notebook>=7,<8')
# Written last, once everything below succeeded; the Makefile's target.
stamp=$venv/.installed

fall_back() {
  echo "WARNING: $1" >&2
  echo "WARNING: JupyterLab is not installed; users' servers run the classic Notebook of Debian's jupyterhub-singleuser." >&2
  exit 0
}

if [ ! -x "$venv/bin/python" ]; then
  echo "+ $PYTHON -m venv --system-site-packages $venv"
  "$PYTHON" -m venv --system-site-packages "$venv" ||
    fall_back "could not create the virtual environment $venv (Debian package python3-venv)"
fi

# Node treats .js files by the nearest package.json: the repository's says "type": "module", and
# JupyterLab's bundled yarn.js, run by node from inside the environment, would fail as an ES module.
echo '{ "type": "commonjs" }' >"$venv/package.json"

# pip retries each unreachable index five times with backoff, about 8 s per package; a machine that
# lists PyPI but reaches only a local mirror would wait minutes. One retry still rides out a blip.
echo "+ $venv/bin/pip install --retries 1 ${REQUIREMENTS[*]}"
"$venv/bin/pip" install --retries 1 "${REQUIREMENTS[@]}" ||
  fall_back "pip could not install ${REQUIREMENTS[*]} (no package index reachable? see pip config list)"

versions=$("$venv/bin/python" -c '
from importlib.metadata import version
import jupyterhub.singleuser, jupyterlab.labhubapp
print(", ".join(f"{p} {version(p)}" for p in ("jupyterlab", "notebook", "jupyter_server", "jupyterhub", "ipykernel")))
') || fall_back "JupyterLab was installed in $venv but does not import"

# Debian's jupyterhub-singleuser runs /usr/bin/python3, which does not see the environment's packages:
# the environment gets its own, the same entry point run by its Python.
cat >"$venv/bin/jupyterhub-singleuser" <<EOF
#!$venv/bin/python
# Written by scripts/install-jupyterlab.sh: Debian's jupyterhub-singleuser with this environment's packages.
import sys
from jupyterhub.singleuser import main
sys.exit(main())
EOF
chmod +x "$venv/bin/jupyterhub-singleuser"
# Servers run under the users' own uids: everything must be readable and the programs executable by all.
chmod -R a+rX "$venv"
dir=$(dirname "$venv")
while [ "$dir" != / ]; do
  if [[ $(stat -c %A "$dir") != *[xt] ]]; then
    echo "WARNING: $dir is not searchable by other users; servers running under other uids cannot start $venv/bin/jupyterhub-singleuser" >&2
    break
  fi
  dir=$(dirname "$dir")
done
echo "$versions" >"$stamp"
echo "JupyterLab for users' servers in $venv: $versions"
