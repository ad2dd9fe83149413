# Sourced by bench/run.sh: builds pg_net, the HTTP-from-PostgreSQL extension
# the webhook figures are compared with, from the pinned source archive in
# ../shared/anchors/ (Apache-2.0; a benchmark dependency only, never part of
# wib), and installs it into the private installation.
#
# The build lives in tmp_check/pg_net/ and is kept: a later run whose archive
# has the same SHA-256 skips the compile and only installs again (the private
# installation is made afresh by every run).
# shellcheck shell=bash

PG_NET_ARCHIVE=${WIB_PG_NET_ARCHIVE:-$(cd "$WIB_ROOT/.." && pwd)/shared/anchors/pg_net-0.20.5.tar.gz}
PG_NET_BUILD=$TMP_CHECK/pg_net

# Builds pg_net into $PG_NET_BUILD/src unless the same archive was built
# already; false (with the reason on stderr) when there is no archive or the
# build fails.
pg_net_build() {
	local sum dir
	if [ ! -r "$PG_NET_ARCHIVE" ]; then
		echo "pg_net: no source archive at $PG_NET_ARCHIVE" >&2
		return 1
	fi
	sum=$(sha256sum "$PG_NET_ARCHIVE" | awk '{print $1}')
	if [ "$(cat "$PG_NET_BUILD/built.sha256" 2>/dev/null)" = "$sum" ] && [ -e "$PG_NET_BUILD/src/pg_net.so" ]; then
		return 0
	fi
	rm -rf "$PG_NET_BUILD" && mkdir -p "$PG_NET_BUILD"
	tar -xzf "$PG_NET_ARCHIVE" -C "$PG_NET_BUILD" || return 1
	dir=$(find "$PG_NET_BUILD" -mindepth 1 -maxdepth 1 -type d -name 'pg_net-*' | head -1)
	mv "$dir" "$PG_NET_BUILD/src"
	echo "pg_net: building $(basename "$PG_NET_ARCHIVE") in $PG_NET_BUILD (once; later runs reuse it)" >&2
	if ! make -C "$PG_NET_BUILD/src" -s PG_CONFIG="$PG_CONFIG" >"$PG_NET_BUILD/build.log" 2>&1; then
		echo "pg_net: build failed, see $PG_NET_BUILD/build.log" >&2
		return 1
	fi
	echo "$sum" >"$PG_NET_BUILD/built.sha256"
}

# Installs the built pg_net into the private installation (tmp_install/).
pg_net_install() {
	make -C "$PG_NET_BUILD/src" -s PG_CONFIG="$PG_CONFIG" install DESTDIR="$TMP_INSTALL" >"$PG_NET_BUILD/install.log" 2>&1 ||
		{ echo "pg_net: install failed, see $PG_NET_BUILD/install.log" >&2; return 1; }
}
