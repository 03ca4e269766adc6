#!/bin/bash
# A Jupyter server for alice, submitted by Ganymede.
#SBATCH --job-name=ganymede
#SBATCH --partition=debug
#SBATCH --nodes=1
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --mem=2G
#SBATCH --time=60
#SBATCH --chdir=/home/alice
#SBATCH --no-requeue
#SBATCH --output=/home/alice/.ganymede-slurm-%j.log
#SBATCH --constraint=ib,avx512
#SBATCH --reservation=maint_2025
#SBATCH --mail-type=END
# The JUPYTERHUB_* variables arrive in the environment sbatch passes on (not written here).
# sudo -E passes no HOME: take the account's own.
[ -n "${HOME:-}" ] || export HOME="$(getent passwd "$(id -u)" | cut -d: -f6)"
# Site set-up (module load ..., conda activate ...) goes here in your own template (spawner.slurm.batch_script).
exec python3 -c 'import json, os, socket, sys, urllib.request
s = socket.socket()
s.bind(("", 0))
port = s.getsockname()[1]
s.close()
request = urllib.request.Request(
    os.environ["JUPYTERHUB_API_URL"].rstrip("/") + "/batchspawner",
    data=json.dumps({"port": port}).encode(),
    headers={"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"], "Content-Type": "application/json"},
    method="POST",
)
urllib.request.urlopen(request, timeout=60).read()
argv = sys.argv[1:] + ["--port=%d" % port, "--ip=" + os.environ.get("GANYMEDE_SERVER_IP", "0.0.0.0")]
os.execvp(argv[0], argv)
' jupyterhub-singleuser
