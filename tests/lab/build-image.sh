#!/usr/bin/env bash
# Build the lab node image localhost/wgmesh-node:bookworm with debootstrap (no registry here).
# Cached: skipped when the image carries the hash of its inputs; the rootfs tarball is kept
# under $WGMESH_LAB_CACHE so a rebuild after `podman rmi` is a quick import.
set -euo pipefail
image="${WGMESH_IMAGE:-localhost/wgmesh-node:bookworm}"
cache="${WGMESH_LAB_CACHE:-/var/cache/wgmesh-lab}"
suite=bookworm
# Packages in the image. WireGuard is left out on purpose: the roles install it.
# Ansible reaches the nodes over SSH (with pipelining), as it reaches real VPS.
include=python3,python3-apt,iproute2,iputils-ping,procps,ca-certificates,sudo,systemd,systemd-sysv,dbus,nftables,tcpdump,netcat-openbsd,openssh-server

# Same mirror as the host's apt sources (deb822 or one-line format).
mirror="$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
          | head -n1 | tr -d ' ' | sed 's:/$::' || true)"
mirror="${mirror:-http://deb.debian.org/debian}"
security="${mirror%/debian}/debian-security"

inputs_hash="$( { cat "$0"; echo "$image $suite $include $mirror"; } | sha256sum | cut -c1-16)"
label=org.smite.wgmesh.inputs

have="$(podman image inspect --format "{{ index .Labels \"$label\" }}" "$image" 2>/dev/null || true)"
old_id="$(podman image inspect --format '{{ .Id }}' "$image" 2>/dev/null || true)"
if [ "$have" = "$inputs_hash" ]; then
    echo "image: $image is up to date ($inputs_hash)"
    exit 0
fi

mkdir -p "$cache"
tarball="$cache/rootfs-$inputs_hash.tar"
if [ ! -s "$tarball" ]; then
    start=$SECONDS
    rootfs="$(mktemp -d "$cache/rootfs.XXXXXX")"
    chmod 0755 "$rootfs"
    trap 'umount -R "$rootfs/proc" 2>/dev/null || true; rm -rf --one-file-system "$rootfs"' EXIT
    echo "image: debootstrap $suite from $mirror"
    debootstrap --variant=minbase --include="$include" "$suite" "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 \
        || { tail -n 30 "$cache/debootstrap.log" >&2; exit 1; }

    cat >"$rootfs/etc/apt/sources.list" <<SRC
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
SRC
    # apt lists inside the image, so roles using cache_valid_time need no update at converge.
    cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
    chroot "$rootfs" apt-get -qq update
    chroot "$rootfs" apt-get -qq clean
    : >"$rootfs/etc/resolv.conf"

    # Each container gets its own machine-id at boot.
    : >"$rootfs/etc/machine-id"
    rm -f "$rootfs/var/lib/dbus/machine-id"
    # systemd keeps its stock timeouts (90 s stop): a stop that hangs must show here as it
    # would on a container VPS, and the collection must prevent it (docs/health.md).
    # Nothing in the lab needs a login prompt.
    ln -sf /dev/null "$rootfs/etc/systemd/system/console-getty.service"
    ln -sf /dev/null "$rootfs/etc/systemd/system/getty@tty1.service"

    tar -C "$rootfs" --numeric-owner -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    echo "image: rootfs built in $((SECONDS - start)) s"
fi
# Drop tarballs of older inputs.
find "$cache" -maxdepth 1 -name 'rootfs-*.tar' ! -name "rootfs-$inputs_hash.tar" -delete

podman import --change 'CMD ["/sbin/init"]' --change "LABEL $label=$inputs_hash" \
    "$tarball" "$image" >/dev/null 2>&1
# The previous build of this tag is ours and now untagged: remove it (by ID).
if [ -n "$old_id" ]; then podman rmi "$old_id" >/dev/null 2>&1 || true; fi
echo "image: imported $image ($inputs_hash)"
