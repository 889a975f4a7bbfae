#!/usr/bin/env bash
# Prepare a Debian 12 host (as root) for the podman lab: packages and containers.conf.
# Idempotent: installs only missing packages, rewrites containers.conf only if it differs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
pkgfile="$here/../../requirements/apt-host.txt"

if [ "$(id -u)" -ne 0 ]; then
    echo "setup-host: must run as root" >&2
    exit 1
fi

mapfile -t pkgs < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$pkgfile")
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup-host: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
fi

# Without these settings every `podman run` fails on this kind of host (Debian 12 with hybrid
# cgroups v1/v2 and no systemd as PID 1): crun refuses hybrid cgroups and podman's default
# ulimits cannot be set (setrlimit not permitted), so runc and explicit ulimits.
conf=/etc/containers/containers.conf
want="$(cat <<'CONF'
# Written by smite.wgmesh tests/lab/setup-host.sh
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"

[network]
network_backend = "netavark"
CONF
)"
if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$want" ]; then
    if [ -f "$conf" ] && ! grep -q 'smite.wgmesh' "$conf"; then
        cp -p "$conf" "$conf.wgmesh-orig"
    fi
    mkdir -p /etc/containers
    printf '%s\n' "$want" > "$conf"
    echo "setup-host: wrote $conf"
fi
echo "setup-host: ok"
