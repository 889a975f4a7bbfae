# -*- coding: utf-8 -*-
# Copyright (c) 2025 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backhaul link files: one TOML and one systemd drop-in per planned link.

Pure functions over the plan's link entries (docs/plan-format.md). Key names follow
Backhaul v0.7.x (internal/config/config.go); `skip_optz = true` stops Backhaul from
rewriting host sysctls and `web_port = 0` keeps its unauthenticated status page off.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

from ansible_collections.smite.wgmesh.plugins.module_utils import names

# First line of every file we write; it is how pruning recognises our files, so a
# mesh name that prefixes another ("office" / "office.x") can never be confused.
MARKER = "# Managed by smite.wgmesh (backhaul link), do not edit. mesh="
DEFAULT_TOKEN = "musix"
MIN_TOKEN_LENGTH = 16
MASK = "********"

# Printable ASCII without spaces (toml_value() escapes quotes and backslashes).
_TOKEN_RE = re.compile(r'^[\x21-\x7e]+$')
_TOML_ESCAPES = {'"': '\\"', '\\': '\\\\', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r'}
_REMOTE_RE = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$")
_TOKEN_LINE_RE = re.compile(r'^(token\s*=\s*)".*"$', re.MULTILINE)
LOG_LEVELS = ("panic", "fatal", "error", "warn", "info", "debug", "trace")


class BackhaulError(ValueError):
    """A link entry that cannot be turned into a safe Backhaul config."""


def _port(link, key):
    value = link.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise BackhaulError("link %s: %s must be a port number, got %r" % (link.get("instance"), key, value))
    return value


def validate_link(link):
    """Raise BackhaulError unless link is a well-formed plan link entry."""
    instance, mesh, peer = link.get("instance"), link.get("mesh"), link.get("peer")
    if not names.is_mesh_name(mesh) or not names.is_node_name(peer) or instance != names.link_instance(mesh, peer):
        raise BackhaulError("link instance %r: must be <mesh>.<peer> of a mesh name (%s) and a node name (%s), "
                            "got mesh %r, peer %r" % (instance, names.MESH_NAME_HELP, names.NODE_NAME_HELP, mesh, peer))
    token = link.get("token")
    if not isinstance(token, str) or not _TOKEN_RE.match(token):
        raise BackhaulError("link %s: token must be printable ASCII without spaces" % instance)
    if token == DEFAULT_TOKEN or len(token) < MIN_TOKEN_LENGTH:
        raise BackhaulError("link %s: token is Backhaul's default or shorter than %d characters"
                            % (instance, MIN_TOKEN_LENGTH))
    _port(link, "bind_port")
    mode = link.get("mode")
    if mode == "server":
        _port(link, "loopback_port")
        _port(link, "target_port")
    elif mode == "client":
        match = _REMOTE_RE.match(link.get("remote") or "")
        if not match or not 0 < int(match.group(2)) < 65536:
            raise BackhaulError("link %s: remote must be 'address:port', got %r" % (instance, link.get("remote")))
    else:
        raise BackhaulError("link %s: mode must be server or client, got %r" % (instance, mode))


def toml_value(value):
    """One TOML value: a bool, an int, a basic string (escaped as TOML requires) or a list of them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[%s]" % ", ".join(toml_value(item) for item in value)
    return '"%s"' % "".join(_toml_char(char) for char in value)


def _toml_char(char):
    if char in _TOML_ESCAPES:
        return _TOML_ESCAPES[char]
    return "\\u%04x" % ord(char) if ord(char) < 0x20 or char == "\x7f" else char


def render_config(link, log_level="info"):
    """The TOML text of one link. validate_link() first."""
    if link["mode"] == "server":
        table = [
            ("bind_addr", "0.0.0.0:%d" % link["bind_port"]),
            ("transport", "udp"),
            ("token", link["token"]),
            # Upstream's udp sample values, written out so an upstream default change
            # does not silently change the tunnel.
            ("heartbeat", 20),
            ("channel_size", 2048),
            ("sniffer", False),
            ("web_port", 0),
            ("skip_optz", True),
            ("log_level", log_level),
            ("ports", ["127.0.0.1:%d=127.0.0.1:%d" % (link["loopback_port"], link["target_port"])]),
        ]
    else:
        table = [
            ("remote_addr", link["remote"]),
            ("transport", "udp"),
            ("token", link["token"]),
            ("retry_interval", 1),
            ("sniffer", False),
            ("web_port", 0),
            ("skip_optz", True),
            ("log_level", log_level),
        ]
    lines = [MARKER + link["mesh"], "[%s]" % link["mode"]]
    lines += ["%s = %s" % (key, toml_value(value)) for key, value in table]
    return "\n".join(lines) + "\n"


DROPIN_MARKER = "# Managed by smite.wgmesh, do not edit."


def render_dropin(mesh):
    """systemd drop-in of one link: start after the mesh's WireGuard, stop and restart with it.

    A Backhaul client whose first delivery to WireGuard is refused stays half-open for good
    (docs/health.md), so the instance must not start before wg-quick: After= orders it,
    Wants= brings the interface up first when the link alone is started.
    """
    unit = names.mesh_unit(mesh)
    return render_unit([("Unit", [("After", unit), ("Wants", unit), ("PartOf", unit)])])


def render_mesh_dropin(instances):
    """systemd drop-in of a mesh's wg-quick@ unit: starting the interface (at boot, by hand or
    by a restart) starts every link of the mesh; their own drop-ins order them after it."""
    return render_unit([("Unit", [("Wants", " ".join(names.link_unit(name) for name in instances))])])


def render_unit(sections):
    """A systemd unit file or drop-in of ours: [(section, [(key, value)])] under the marker line."""
    lines = [DROPIN_MARKER]
    for section, entries in sections:
        lines.append("[%s]" % section)
        lines += ["%s=%s" % entry for entry in entries]
    return "\n".join(lines) + "\n"


def mask_token(text, mask=MASK):
    """The same text with every token value replaced by a mask."""
    return _TOKEN_LINE_RE.sub(r'\g<1>"%s"' % mask, text or "")


def managed_mesh(text):
    """The mesh named in a file's marker line, or None when we did not write it."""
    first = (text or "").split("\n", 1)[0]
    if first.startswith(MARKER) and len(first) > len(MARKER):
        return first[len(MARKER):]
    return None


def plan_files(links, existing, meshes=(), prune_all=False, log_level="info"):
    """Decide what to write and what to remove.

    links: plan link entries for this host. existing: {instance: file text} of the
    *.toml files now in the config directory. Files of unplanned instances are removed
    when we wrote them and their mesh is in `meshes` or a planned link's mesh, or
    when prune_all is set; anything else in the directory is left alone.
    Returns {"configs": {instance: text}, "changed": [...], "removed": [...]}.
    """
    if log_level not in LOG_LEVELS:
        raise BackhaulError("log_level must be one of %s" % ", ".join(LOG_LEVELS))
    configs, scope = {}, set(meshes)
    for link in links:
        validate_link(link)
        if link["instance"] in configs:
            raise BackhaulError("link %s is planned twice" % link["instance"])
        configs[link["instance"]] = render_config(link, log_level)
        scope.add(link["mesh"])
    changed = sorted(name for name, text in configs.items() if existing.get(name) != text)
    removed = sorted(
        name for name, text in existing.items()
        if name not in configs and managed_mesh(text) is not None
        and (prune_all or managed_mesh(text) in scope))
    return {"configs": configs, "changed": changed, "removed": removed}
