#!/bin/bash
#SBATCH --job-name=ganymede
#SBATCH --partition=gpu
#SBATCH --nodes=1
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=4
#SBATCH --mem=32G
#SBATCH --time=60
#SBATCH --chdir=/home/alice
#SBATCH --no-requeue
#SBATCH --output=/home/alice/.ganymede-slurm-%j.log
#SBATCH --gres=gpu:a100:2
#SBATCH --account=proj1
#SBATCH --qos=normal
#SBATCH --comment=user=alice,job=ganymede
# The JUPYTERHUB_* variables arrive in the environment sbatch passes on (not written here).
module load cuda
echo "gpu 4 32 60 2 a100 proj1 normal /cvmfs/py.sif /home/alice"
exec apptainer exec --nv /cvmfs/py.sif python3 -c 'import json, os, socket, sys, urllib.request
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
