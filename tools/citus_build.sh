#!/usr/bin/env bash
# Builds Citus (a test dependency only: never shipped with or linked into wib)
# from its pinned source tarball against the system's PostgreSQL 15, once.
# The result is a DESTDIR-style tree in a cache directory keyed by the
# tarball's checksum and the server's version; a second run finds it and does
# nothing.  tools/test_citus.sh copies it over the private install tree.
#   CITUS_TARBALL  the source (default ../shared/anchors/citus-13.0.5.tar.gz)
#   CITUS_CACHE    where built trees are kept (default tmp_citus/ in the tree)
# Prints the path of the built tree on its last line.
set -euo pipefail
source "$(dirname "$0")/common.sh"

CITUS_TARBALL=${CITUS_TARBALL:-$WIB_ROOT/../shared/anchors/citus-13.0.5.tar.gz}
CITUS_CACHE=${CITUS_CACHE:-$WIB_ROOT/tmp_citus}

if [ ! -r "$CITUS_TARBALL" ]; then
	echo "wib: Citus source not found at $CITUS_TARBALL (set CITUS_TARBALL)" >&2
	exit 1
fi

# Debian packages Citus's configure asks for beyond wib's own.
packages=(liblz4-dev libzstd-dev libkrb5-dev libcurl4-openssl-dev)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "wib: Citus needs Debian packages: ${missing[*]} (run as root, or apt-get install them)" >&2
		exit 1
	fi
	echo "wib: installing ${missing[*]}" >&2
	# A fresh machine may have no package lists yet.
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

key=$( (sha256sum "$CITUS_TARBALL" | cut -c1-16; "$PG_CONFIG" --version) | sha256sum | cut -c1-16)
dest=$CITUS_CACHE/$key
if [ -f "$dest/.built" ]; then
	echo "wib: Citus cached in $dest" >&2
	echo "$dest"
	exit 0
fi

echo "wib: building Citus from $(basename "$CITUS_TARBALL") (about a minute on 2 cores)" >&2
rm -rf "$dest" "$dest.src"
mkdir -p "$dest.src"
tar -xzf "$CITUS_TARBALL" -C "$dest.src" --strip-components=1
(
	cd "$dest.src"
	./configure --quiet PG_CONFIG="$PG_CONFIG" >configure.log 2>&1 ||
		{ tail -20 configure.log >&2; exit 1; }
	# No LLVM bitcode, as for wib: it would need clang and buys nothing here.
	make -s -j2 with_llvm=no >build.log 2>&1 || { tail -30 build.log >&2; exit 1; }
	make -s install with_llvm=no DESTDIR="$dest" >install.log 2>&1 || { tail -20 install.log >&2; exit 1; }
)
rm -rf "$dest.src"
touch "$dest/.built"
echo "wib: Citus built into $dest" >&2
echo "$dest"
