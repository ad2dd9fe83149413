#!/usr/bin/env bash
# Installs the Debian 12 packages wib needs to build, test, bench and demo, when any is missing;
# arguments name more packages a target needs (tools/deps.sh valgrind).
set -euo pipefail

packages=(
	make gcc clang libfuzzer-14-dev
	postgresql-15 postgresql-server-dev-15 postgresql-contrib
	libcurl4-openssl-dev libssl-dev openssl
	postgresql-15-cron postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
	libipc-run-perl python3 ca-certificates
	python3-cryptography python3-botocore python3-sklearn curl
)
# Packages only some targets need, named by them (make test-valgrind: valgrind).
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "wib: missing Debian packages: ${missing[*]}" >&2
	echo "wib: run as root, or: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "wib: installing ${missing[*]}"
# Tests and the demo run throwaway clusters of their own: no system cluster wanted.
mkdir -p /etc/postgresql-common/createcluster.d
echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/wib.conf
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
