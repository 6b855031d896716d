#!/bin/bash
# EC2 user data of a Docker Swarm node of the smart-meter AWS stack (Amazon Linux 2023).
# Installs Docker, then either creates the swarm (the first manager) or joins it.
#
# Join tokens never pass through Pulumi: the first manager writes them to two SSM Parameter Store
# SecureStrings that Pulumi created with a placeholder value, and the other nodes read them with their
# instance role. Nothing here prints a token (no `set -x`).
#
# components/platforms/aws/user-data.ts replaces the parameter block below with the node's values;
# the defaults only make the file a complete script for `bash -n` and shellcheck.
set -euo pipefail

# --- parameters ---
SWARM_ROLE='worker'                                 # init | manager | worker
AWS_REGION='us-east-1'
MANAGER_TOKEN_PARAM='/smartmeter/aws/swarm/manager-token'
WORKER_TOKEN_PARAM='/smartmeter/aws/swarm/worker-token'
MANAGER_ADDR='10.42.0.10'                           # the first manager's private IP (empty for init)
NODE_SLOT='0'                                       # index among nodes of its role: placement label
# --- end parameters ---

PLACEHOLDER='pending'
JOIN_DEADLINE_SECONDS=1200

log() { echo "[swarm-node] $*"; }

# IMDSv2 only: every metadata read carries a session token.
imds() {
  local token
  token=$(curl -sf -X PUT 'http://169.254.169.254/latest/api/token' -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')
  curl -sf -H "X-aws-ec2-metadata-token: ${token}" "http://169.254.169.254/latest/meta-data/$1"
}

install_docker() {
  local kind=manager
  [[ $SWARM_ROLE != worker ]] || kind=worker
  dnf install -y docker
  mkdir -p /etc/docker
  # Engine labels let the platform pin stateful services (NATS, Cassandra) to one node each.
  cat >/etc/docker/daemon.json <<JSON
{
  "labels": ["smartmeter.role=${kind}", "smartmeter.slot=${NODE_SLOT}"],
  "log-driver": "json-file",
  "log-opts": { "max-size": "20m", "max-file": "3" }
}
JSON
  systemctl enable --now docker
  usermod -aG docker ec2-user
}

put_secure() {
  aws ssm put-parameter --region "$AWS_REGION" --name "$1" --type SecureString --overwrite \
    --value "$2" >/dev/null
}

get_secure() {
  aws ssm get-parameter --region "$AWS_REGION" --name "$1" --with-decryption \
    --query 'Parameter.Value' --output text
}

init_swarm() {
  local addr
  addr=$(imds local-ipv4)
  if [[ $(docker info --format '{{.Swarm.LocalNodeState}}') != active ]]; then
    docker swarm init --advertise-addr "$addr"
  fi
  put_secure "$WORKER_TOKEN_PARAM" "$(docker swarm join-token -q worker)"
  put_secure "$MANAGER_TOKEN_PARAM" "$(docker swarm join-token -q manager)"
  log "swarm initialised on ${addr}; join tokens stored in SSM"
}

# Waits for the first manager's token, then joins; retries a stale token until the deadline.
join_swarm() {
  local param=$1 token addr deadline
  addr=$(imds local-ipv4)
  deadline=$((SECONDS + JOIN_DEADLINE_SECONDS))
  while ((SECONDS < deadline)); do
    if [[ $(docker info --format '{{.Swarm.LocalNodeState}}') == active ]]; then
      log "joined the swarm at ${MANAGER_ADDR}"
      return 0
    fi
    token=$(get_secure "$param" 2>/dev/null || echo "$PLACEHOLDER")
    if [[ $token != "$PLACEHOLDER" ]]; then
      docker swarm join --advertise-addr "$addr" --token "$token" "${MANAGER_ADDR}:2377" >/dev/null 2>&1 || true
    fi
    sleep 10
  done
  log "could not join the swarm at ${MANAGER_ADDR} within ${JOIN_DEADLINE_SECONDS}s" >&2
  return 1
}

install_docker
case "$SWARM_ROLE" in
  init) init_swarm ;;
  manager) join_swarm "$MANAGER_TOKEN_PARAM" ;;
  worker) join_swarm "$WORKER_TOKEN_PARAM" ;;
  *)
    log "unknown SWARM_ROLE '${SWARM_ROLE}' (allowed: init, manager, worker)" >&2
    exit 1
    ;;
esac
