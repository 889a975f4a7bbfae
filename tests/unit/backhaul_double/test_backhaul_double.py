# -*- coding: utf-8 -*-
# Copyright (c) 2025 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What only the Backhaul test double does (tests/backhaul_double/backhaul-double).

The double is deliberately stricter than real Backhaul about its configuration, so that
a configuration real Backhaul would run badly (default token, sysctl rewriting, a web
page, things the double does not implement) fails the collection's tests instead of
passing on the double. Everything both share is in test_contract.py.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import subprocess

import pytest

OK = 'transport = "udp"\ntoken = "t0ken"\nskip_optz = true\nweb_port = 0\n'


@pytest.mark.parametrize("config, message", [
    ("[server]\n" + OK, "neither server nor client"),
    ("[client]\nremote_addr = \"127.0.0.1:1\"\ntransport = \"carrier-pigeon\"\ntoken = \"t\"\n", "unknown transport"),
    ("[client]\nremote_addr = \"127.0.0.1:1\"\ntoken = \"t\"\n", "unknown transport"),
    ("[client]\nremote_addr = \"127.0.0.1:1\"\ntransport = \"tcpmux\"\ntoken = \"t\"\n",
     "not implemented by the test double"),
    ("[server]\nbind_addr = \"0.0.0.0:1\"\ntransport = \"udp\"\nskip_optz = true\n", "missing token"),
    ("[server]\nbind_addr = \"0.0.0.0:1\"\ntransport = \"udp\"\ntoken = \"\"\n", "missing token"),
    ("[client]\nremote_addr = \"127.0.0.1:1\"\ntransport = \"udp\"\ntoken = \"musix\"\nskip_optz = true\n",
     "default token"),
    ("[client]\nremote_addr = \"127.0.0.1:1\"\ntransport = \"udp\"\ntoken = \"t\"\n", "skip_optz = true is required"),
    ("[client]\nremote_addr = \"127.0.0.1:1\"\ntransport = \"udp\"\ntoken = \"t\"\nskip_optz = false\n",
     "skip_optz = true is required"),
    ("[server]\nbind_addr = \"0.0.0.0:1\"\n" + OK.replace("web_port = 0", "web_port = 2060"), "web_port must be 0"),
    ("[server]\nbind_addr = \"0.0.0.0:1\"\n" + OK + "ports = [\"443-600\"]\n", "port ranges"),
    ("[server]\nbind_addr = \"0.0.0.0:1\"\n" + OK + "ports = [\"4000=[::1]:5000\"]\n", "IPv6"),
    ("[server]\nbind_addr = \"0.0.0.0\"\n" + OK, "invalid address"),
    ("[server\nbind_addr = 1\n", "failed to load configuration"),
])
def test_config_refusals(double_lab, config, message):
    path = double_lab.workdir / "bad.toml"
    path.write_text(config)
    result = subprocess.run(double_lab.argv + ["-c", str(path)], capture_output=True, text=True, timeout=20,
                            check=False)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr


def test_missing_config_file_fails(double_lab):
    result = subprocess.run(double_lab.argv + ["-c", str(double_lab.workdir / "absent.toml")],
                            capture_output=True, text=True, timeout=20, check=False)
    assert result.returncode != 0
    assert "failed to load configuration" in result.stdout


def test_version(double_lab):
    result = subprocess.run(double_lab.argv + ["-v"], capture_output=True, text=True, timeout=20, check=True)
    assert result.stdout.strip() == "v0.7.2"


def test_idle_timeout_knob(double_lab, bh):
    """BACKHAUL_DOUBLE_IDLE_TIMEOUT shortens the (real: fixed 60 s) idle timeout, for
    quick tests of the double alone."""
    quick = {"BACKHAUL_DOUBLE_IDLE_TIMEOUT": "1"}
    echo = double_lab.echo()
    double_lab.server(env=quick)
    double_lab.client(env=quick)
    probe = double_lab.sender()
    assert probe.roundtrip(b"first"), double_lab.logs()
    first = echo.sources(b"first")
    assert bh.wait_for(lambda: not bh.udp_sockets_to(double_lab.target), timeout=10), double_lab.logs()
    assert probe.roundtrip(b"second"), double_lab.logs()
    assert echo.sources(b"second") != first
