# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The seed's Testing Scenario (full mesh, transport direct), checked inside the lab after
converge and idempotence."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from labtest import assert_run_ok, key_forms, private_key, public_key, run_playbook
from mesh_checks import *  # noqa: F401,F403  pylint: disable=wildcard-import,unused-wildcard-import


def test_nodes_run_systemd(nodes):
    for name, host in nodes.items():
        assert host.run("systemctl is-system-running").stdout.strip() in ("running", "degraded"), name


def test_no_private_key_in_a_converge_at_vvv(lab, nodes):
    """site.yml at -vvv prints every module's arguments and results: no private key may be there.
    The public keys must be (they are returned and templated), which shows the output carries
    key material at all."""
    proc = run_playbook("site.yml", "-vvv")
    stats = assert_run_ok(proc, list(nodes))
    assert all(stats[name]["changed"] == 0 for name in nodes), stats
    for mesh in lab["meshes"]:
        for name in mesh["nodes"]:
            assert public_key(nodes[name], mesh["name"]) in proc.stdout, name
            for form in key_forms(private_key(nodes[name], mesh["name"])):
                assert form not in proc.stdout, "%s's private key (%s...) is in the output" % (name, form[:4])
