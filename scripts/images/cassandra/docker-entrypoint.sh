#!/bin/bash
# Starts Cassandra in the foreground from the environment the official image honours:
#   CASSANDRA_CLUSTER_NAME, CASSANDRA_SEEDS, CASSANDRA_LISTEN_ADDRESS (default: the container's address),
#   CASSANDRA_BROADCAST_ADDRESS, CASSANDRA_RPC_ADDRESS (default 0.0.0.0), CASSANDRA_BROADCAST_RPC_ADDRESS,
#   CASSANDRA_NUM_TOKENS, CASSANDRA_ENDPOINT_SNITCH, CASSANDRA_DC, CASSANDRA_RACK, MAX_HEAP_SIZE,
#   HEAP_NEWSIZE, JVM_EXTRA_OPTS. Authentication is always on (PasswordAuthenticator, from the template).
set -euo pipefail

if [[ $# -eq 0 || ${1#-} != "$1" ]]; then set -- cassandra -f "$@"; fi
[[ $1 == cassandra ]] || exec "$@"

conf=$CASSANDRA_CONF
own_ip=$(hostname -i | awk '{print $1}')
auto() { [[ ${1:-auto} == auto ]] && echo "$own_ip" || echo "$1"; }
listen=$(auto "${CASSANDRA_LISTEN_ADDRESS:-auto}")
broadcast=$(auto "${CASSANDRA_BROADCAST_ADDRESS:-$listen}")
rpc=${CASSANDRA_RPC_ADDRESS:-0.0.0.0}
broadcast_rpc=$(auto "${CASSANDRA_BROADCAST_RPC_ADDRESS:-$broadcast}")
seeds=${CASSANDRA_SEEDS:-$broadcast}
snitch=${CASSANDRA_ENDPOINT_SNITCH:-SimpleSnitch}
heap=${MAX_HEAP_SIZE:-1G}

# Edited in place, like the official image does: a command may have changed the file before.
yaml=$conf/cassandra.yaml
set_key() { # key value: replaces a top-level key, or appends it
  if grep -qE "^$1:" "$yaml"; then sed -i -E "s|^($1:).*|\1 $2|" "$yaml"; else echo "$1: $2" >>"$yaml"; fi
}
set_key cluster_name "'${CASSANDRA_CLUSTER_NAME:-Test Cluster}'"
set_key listen_address "$listen"
set_key broadcast_address "$broadcast"
set_key rpc_address "$rpc"
set_key broadcast_rpc_address "$broadcast_rpc"
set_key endpoint_snitch "$snitch"
[[ -z ${CASSANDRA_NUM_TOKENS:-} ]] || set_key num_tokens "$CASSANDRA_NUM_TOKENS"
sed -i -E "s|(- seeds:).*|\1 \"$seeds\"|" "$yaml"
printf 'dc=%s\nrack=%s\n' "${CASSANDRA_DC:-datacenter1}" "${CASSANDRA_RACK:-rack1}" >"$conf/cassandra-rackdc.properties"

mapfile -t jvm_opts <"$conf/jvm17.options"
# HEAP_NEWSIZE is accepted and ignored, as by the official launcher under G1 (the Java 17 default).
# shellcheck disable=SC2206 # JVM_EXTRA_OPTS is a word list by convention
extra=(${JVM_EXTRA_OPTS:-})
mkdir -p /var/lib/cassandra/tmp
exec java "-Xms$heap" "-Xmx$heap" "${jvm_opts[@]}" \
  -javaagent:"$CASSANDRA_HOME/lib/jamm-0.4.0.jar" \
  -Djava.io.tmpdir=/var/lib/cassandra/tmp \
  -Dcassandra.config="file://$yaml" \
  -Dlogback.configurationFile="$conf/logback.xml" \
  -Dcassandra.storagedir=/var/lib/cassandra -Dcassandra.logdir=/var/log/cassandra \
  -Dcassandra-foreground=yes -Dcassandra.jmx.local.port=7199 \
  -Dcassandra.skip_wait_for_gossip_to_settle=0 -Dcassandra.superuser_setup_delay_ms=500 \
  "${extra[@]}" \
  -cp "$conf:$CASSANDRA_HOME/lib/*" org.apache.cassandra.service.CassandraDaemon
