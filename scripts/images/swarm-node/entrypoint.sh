#!/bin/bash
# Starts the node's engine with the engine labels a real node gets from its user data
# (smartmeter.role, smartmeter.slot), listening on a socket in /run/swarm-node, which the host mounts.
set -euo pipefail
: "${SMARTMETER_ROLE:?worker or manager}" "${SMARTMETER_SLOT:?the node index among its role}"
mkdir -p /etc/docker /run/swarm-node
cat >/etc/docker/daemon.json <<JSON
{
  "labels": ["smartmeter.role=${SMARTMETER_ROLE}", "smartmeter.slot=${SMARTMETER_SLOT}"],
  "log-driver": "json-file",
  "log-opts": { "max-size": "20m", "max-file": "3" }
}
JSON
# A node killed and started again keeps its container filesystem: its runtime state (pid files, whose
# numbers the new processes may reuse, containerd's sockets) would keep dockerd from starting again.
rm -rf /var/run/docker.pid /var/run/docker /run/containerd /run/swarm-node/docker.sock
exec dockerd --host unix:///run/swarm-node/docker.sock --host unix:///var/run/docker.sock
