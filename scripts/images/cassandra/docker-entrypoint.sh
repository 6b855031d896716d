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

# The shared template (scripts/cassandra/cassandra.yaml) is written for loopback: rewrite its addresses.
sed -E \
  -e 's/@NATIVE_PORT@/9042/g' -e 's/@STORAGE_PORT@/7000/g' \
  -e "s/^(cluster_name:).*/\1 '${CASSANDRA_CLUSTER_NAME:-Test Cluster}'/" \
  -e "s/^(listen_address:).*/\1 $listen/" \
  -e "s/^(rpc_address:).*/\1 $rpc/" \
  -e "s/^(endpoint_snitch:).*/\1 $snitch/" \
  -e "s/(- seeds:).*/\1 \"$seeds\"/" \
  ${CASSANDRA_NUM_TOKENS:+-e "s/^(num_tokens:).*/\1 $CASSANDRA_NUM_TOKENS/"} \
  "$conf/cassandra.yaml.template" >"$conf/cassandra.yaml"
printf 'broadcast_address: %s\nbroadcast_rpc_address: %s\n' "$broadcast" "$broadcast_rpc" >>"$conf/cassandra.yaml"
printf 'dc=%s\nrack=%s\n' "${CASSANDRA_DC:-datacenter1}" "${CASSANDRA_RACK:-rack1}" >"$conf/cassandra-rackdc.properties"

mapfile -t jvm_opts <"$conf/jvm17.options"
# shellcheck disable=SC2206 # JVM_EXTRA_OPTS and HEAP_NEWSIZE are word lists by convention
extra=(${HEAP_NEWSIZE:+-Xmn$HEAP_NEWSIZE} ${JVM_EXTRA_OPTS:-})
mkdir -p /var/lib/cassandra/tmp
exec java "-Xms$heap" "-Xmx$heap" "${jvm_opts[@]}" \
  -javaagent:"$CASSANDRA_HOME/lib/jamm-0.4.0.jar" \
  -Djava.io.tmpdir=/var/lib/cassandra/tmp \
  -Dcassandra.config="file://$conf/cassandra.yaml" \
  -Dlogback.configurationFile="$conf/logback.xml" \
  -Dcassandra.storagedir=/var/lib/cassandra -Dcassandra.logdir=/var/log/cassandra \
  -Dcassandra-foreground=yes -Dcassandra.jmx.local.port=7199 \
  -Dcassandra.skip_wait_for_gossip_to_settle=0 -Dcassandra.superuser_setup_delay_ms=500 \
  "${extra[@]}" \
  -cp "$conf:$CASSANDRA_HOME/lib/*" org.apache.cassandra.service.CassandraDaemon
