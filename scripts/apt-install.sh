#!/bin/sh
# apt-install.sh NAME PKG...: installs the Debian/Ubuntu packages PKG with
# apt-get (with sudo when not root; apt-get update first only if the install
# fails, so a fresh package list is fetched just when it is needed). NAME
# says who asks, in messages. Without apt-get it names what to install and
# fails. Shared by the scripts that install their own tools (vulkan-deps.sh,
# test-arm64.sh, test-cpus.sh).
set -eu
name=$1
shift
[ $# -gt 0 ] || exit 0
if ! command -v apt-get >/dev/null 2>&1; then
	echo "$name: please install: $*" >&2
	exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "$name: apt-get install $*"
$SUDO apt-get install -y -qq "$@" || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "$@"; }
