# Shared by tools/test.sh, tools/demo.sh and bench/run.sh: a private installation
# of PostgreSQL plus wib under the build tree, and throwaway clusters on loopback.
# shellcheck shell=bash

WIB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
PG_SYS_BINDIR=$("$PG_CONFIG" --bindir)
PG_SYS_LIBDIR=$("$PG_CONFIG" --pkglibdir)
PG_SYS_SHAREDIR=$("$PG_CONFIG" --sharedir)
TMP_INSTALL=$WIB_ROOT/tmp_install
TMP_CHECK=${TMP_CHECK:-$WIB_ROOT/tmp_check}
PG_BINDIR=$TMP_INSTALL$PG_SYS_BINDIR
PG_REGRESS=$PG_SYS_LIBDIR/pgxs/src/test/regress/pg_regress
PG_PERL_LIB=$PG_SYS_LIBDIR/pgxs/src/test/perl

# The OS user that runs servers and suites: PostgreSQL refuses to run as root.
if [ "$(id -u)" -eq 0 ]; then
	WIB_RUN_USER=${WIB_RUN_USER:-postgres}
else
	WIB_RUN_USER=$(id -un)
fi

# Runs a command as WIB_RUN_USER, keeping the environment.
as_runner() {
	if [ "$(id -un)" = "$WIB_RUN_USER" ]; then
		"$@"
	else
		runuser -u "$WIB_RUN_USER" -m -- "$@"
	fi
}

# Copies the server's own installation under tmp_install and installs wib into
# it (PostgreSQL's "make check" layout), so tests never touch the system's
# extension directory and several trees can be tested side by side.
install_private() {
	rm -rf "$TMP_INSTALL"
	mkdir -p "$TMP_INSTALL$(dirname "$PG_SYS_BINDIR")" "$TMP_INSTALL$(dirname "$PG_SYS_SHAREDIR")"
	cp -a "$(dirname "$PG_SYS_BINDIR")/." "$TMP_INSTALL$(dirname "$PG_SYS_BINDIR")/"
	cp -a "$PG_SYS_SHAREDIR" "$TMP_INSTALL$(dirname "$PG_SYS_SHAREDIR")/"
	make -C "$WIB_ROOT" --no-print-directory -s install DESTDIR="$TMP_INSTALL" >/dev/null
	mkdir -p "$TMP_CHECK"
	chown -R "$WIB_RUN_USER" "$TMP_CHECK" 2>/dev/null || true
}

# A TCP port nobody listens on right now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# cluster_start DATADIR PORT [extra postgresql.conf lines]: a throwaway cluster on loopback.
cluster_start() {
	local datadir=$1 port=$2 extra=${3:-}
	rm -rf "$datadir"
	as_runner "$PG_BINDIR/initdb" -D "$datadir" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >"$datadir.initdb.log" 2>&1 ||
		{ cat "$datadir.initdb.log" >&2; return 1; }
	cat >>"$datadir/postgresql.conf" <<-CONF
		listen_addresses = '127.0.0.1'
		port = $port
		unix_socket_directories = '$(dirname "$datadir")'
		shared_preload_libraries = 'wib,pg_cron'
		max_worker_processes = 32
		fsync = off
		log_line_prefix = '%m [%p] %q%a '
		$extra
	CONF
	# Under valgrind (WIB_VALGRIND, see tools/test_valgrind.sh) everything starts 20-50 times slower.
	# JIT is off there: compiling with LLVM under memcheck takes minutes per query,
	# and the generated code is PostgreSQL's, not wib's.
	local timeout=60 server=()
	if [ -n "${WIB_VALGRIND:-}" ]; then
		timeout=600
		server=(-p "$WIB_ROOT/tools/valgrind_postgres.sh")
		echo "jit = off" >>"$datadir/postgresql.conf"
		# The analytics API's 10-second deadline assumes native speed.
		echo "wib.analytics_timeout = '10min'" >>"$datadir/postgresql.conf"
	fi
	as_runner "$PG_BINDIR/pg_ctl" -D "$datadir" -l "$datadir.log" -w -t "$timeout" "${server[@]}" start >/dev/null ||
		{ cat "$datadir.log" >&2; return 1; }
}

cluster_stop() {
	local datadir=$1
	[ -f "$datadir/postmaster.pid" ] && as_runner "$PG_BINDIR/pg_ctl" -D "$datadir" -m fast -w -t 600 stop >/dev/null 2>&1
	return 0
}

# scratch_dir DIR: a directory the run user can write.
scratch_dir() {
	mkdir -p "$1" && chown "$WIB_RUN_USER" "$1" 2>/dev/null
	return 0
}

# start_throwaway_cluster DB [extra conf]: the private installation, a cluster
# in tmp_check/DB_data stopped when the script exits, database DB created (the
# launcher serves it once CREATE EXTENSION wib runs there), and PATH/PG*
# exported for psql, pgbench and scripts.  A caller that defines
# private_install_extras has it run once wib is installed, before the cluster
# starts (bench/run.sh installs pg_net there).
start_throwaway_cluster() {
	local db=$1 conf=${2:-} port
	install_private
	if declare -F private_install_extras >/dev/null; then
		private_install_extras || return 1
	fi
	export PATH=$PG_BINDIR:$PATH PG_BINDIR WIB_ROOT
	port=$(free_port)
	THROWAWAY_DATADIR=$TMP_CHECK/${db}_data
	trap 'cluster_stop "$THROWAWAY_DATADIR"' EXIT
	cluster_start "$THROWAWAY_DATADIR" "$port" "$conf" || return 1
	export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=$db
	as_runner "$PG_BINDIR/psql" -X -q -d postgres -c "CREATE DATABASE $db" >/dev/null
}
