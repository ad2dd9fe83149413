# Shared by tools/test_citus.sh and bench/citus.sh: a Citus cluster of a
# coordinator and two workers on loopback, from the private install tree with
# Citus copied in (tools/citus_build.sh builds and caches it).
# shellcheck shell=bash
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

CITUS_DB=${CITUS_DB:-wib_citus}

# The private install (PostgreSQL + wib) with the cached Citus build over it.
install_private_citus() {
	local built
	built=$("$WIB_ROOT/tools/citus_build.sh" | tail -1) || return 1
	install_private
	cp -a "$built/." "$TMP_INSTALL/"
	rm -f "$TMP_INSTALL/.built"
	export PATH=$PG_BINDIR:$PATH PG_BINDIR WIB_ROOT
}

# citus_node NAME PORT PRELOAD: one node in tmp_check/citus_NAME, database CITUS_DB
# with the citus extension.  Workers preload only citus: wib's background
# workers run on the coordinator alone (wib's functions load on demand).
citus_node() {
	local name=$1 port=$2 preload=$3 dir=$TMP_CHECK/citus_$1
	cluster_start "$dir" "$port" "shared_preload_libraries = '$preload'
wal_level = logical
max_replication_slots = 16
max_wal_senders = 16
citus.shard_count = 8
citus.log_remote_commands = off
citus.node_conninfo = 'sslmode=disable'
cron.database_name = '$CITUS_DB'" || return 1
	CITUS_DIRS+=("$dir")
	as_runner "$PG_BINDIR/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres \
		-c "CREATE DATABASE $CITUS_DB" >/dev/null || return 1
	as_runner "$PG_BINDIR/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d "$CITUS_DB" \
		-c "CREATE EXTENSION citus" >/dev/null
}

citus_stop_all() {
	local d
	for d in "${CITUS_DIRS[@]}"; do
		cluster_stop "$d"
	done
}

# Starts the coordinator (COORD_PORT) and two workers (WORKER1_PORT,
# WORKER2_PORT), registers the workers, installs wib on the coordinator (Citus
# creates it on the workers too) and leaves PG* pointing at the coordinator.
# The clusters are stopped when the calling script exits.
citus_cluster_start() {
	CITUS_DIRS=()
	trap citus_stop_all EXIT
	scratch_dir "$TMP_CHECK"
	COORD_PORT=$(free_port)
	WORKER1_PORT=$(free_port)
	while [ "$WORKER1_PORT" = "$COORD_PORT" ]; do WORKER1_PORT=$(free_port); done
	WORKER2_PORT=$(free_port)
	while [ "$WORKER2_PORT" = "$COORD_PORT" ] || [ "$WORKER2_PORT" = "$WORKER1_PORT" ]; do WORKER2_PORT=$(free_port); done
	citus_node coord "$COORD_PORT" 'citus,wib' || return 1
	citus_node worker1 "$WORKER1_PORT" citus || return 1
	citus_node worker2 "$WORKER2_PORT" citus || return 1
	export PGHOST=127.0.0.1 PGPORT=$COORD_PORT PGUSER=postgres PGDATABASE=$CITUS_DB
	export COORD_PORT WORKER1_PORT WORKER2_PORT CITUS_DB
	as_runner "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 >/dev/null <<-SQL || return 1
		SELECT citus_set_coordinator_host('127.0.0.1', $COORD_PORT);
		SELECT citus_add_node('127.0.0.1', $WORKER1_PORT);
		SELECT citus_add_node('127.0.0.1', $WORKER2_PORT);
		CREATE EXTENSION wib;
	SQL
}
