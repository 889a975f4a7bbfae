# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The status page (status.html) in a real browser: one office link is taken down on purpose
(node-uae's Backhaul client to node-ir is stopped), status.yml runs with wgmesh_report_dir,
then headless Chromium loads the page from disk, takes a screenshot and dumps the DOM. The
drawing must hold one node shape per node and one line per link of each mesh, each with the
state status.json gives it, the stopped link down. This is fault injection (the status run must
fail), so it runs here rather than as a side_effect. The link is restored before the module
ends: the key rotation that follows (../../rotate_keys.yml) expects every link up.

The page, the screenshot and the DOM are kept in build/lab/two_meshes/status-page/.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import itertools
import json
import os
import shutil
import struct
import subprocess
from html.parser import HTMLParser

import pytest

from labtest import node_by_name, overlay_address, run_playbook, wait_ping

OFFICE = "office"
CLIENT, SERVER = "node-uae", "node-ir"       # node-uae is NATed: the Backhaul client of this link
INSTANCE = "backhaul@%s.%s.service" % (OFFICE, SERVER)
STOPPED_LINK = "--".join(sorted((CLIENT, SERVER)))
BROWSER = "chromium"
WINDOW = (1400, 2400)


class Dom(HTMLParser):
    """Start tags with their attributes and the data-mesh of the section they are in."""

    VOID = ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr")

    def __init__(self, text):
        HTMLParser.__init__(self, convert_charrefs=True)
        self.elements = []
        self.stack = []
        self.feed(text)
        self.close()

    def _mesh(self):
        return next((label for _tag, label in reversed(self.stack) if label), None)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.elements.append((tag, attrs, attrs.get("data-mesh") or self._mesh()))
        if tag not in self.VOID:
            self.stack.append((tag, attrs.get("data-mesh")))

    def handle_startendtag(self, tag, attrs):
        attrs = dict(attrs)
        self.elements.append((tag, attrs, attrs.get("data-mesh") or self._mesh()))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break


def _browser(page, out_dir):
    """Headless Chromium, offline and with a fresh profile: screenshot and DOM of `page`."""
    exe = shutil.which(BROWSER)
    if exe is None:
        pytest.fail("%s is not installed (requirements/apt-host.txt; make setup-host)" % BROWSER)
    profile = os.path.join(out_dir, "chromium-profile")
    shutil.rmtree(profile, ignore_errors=True)
    os.makedirs(profile)
    shot = os.path.join(out_dir, "status.png")
    if os.path.exists(shot):
        os.unlink(shot)
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--hide-scrollbars", "--user-data-dir=" + profile, "--window-size=%d,%d" % WINDOW,
           "--screenshot=" + shot, "--dump-dom", "file://" + page]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=180, check=False)
    shutil.rmtree(profile, ignore_errors=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(os.path.join(out_dir, "status.dom.html"), "w") as f:
        f.write(proc.stdout)
    return shot, proc.stdout


def _png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", head
    return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def page(lab, nodes, tmp_path_factory):
    """status.yml with one Backhaul link stopped, then the page in the browser; the link is
    started again and carries pings both ways before the module goes on."""
    office = next(m for m in lab["meshes"] if m["name"] == OFFICE)
    client = nodes[CLIENT]
    assert client.run("systemctl is-active %s", INSTANCE).stdout.strip() == "active"
    report_dir = str(tmp_path_factory.mktemp("status-page"))
    client.run_expect([0], "systemctl stop %s", INSTANCE)
    try:
        proc = run_playbook("status.yml", "-e", "wgmesh_report_dir=%s" % report_dir)
    finally:
        client.run_expect([0], "systemctl start %s", INSTANCE)
    # Restored: the link carries traffic again both ways (the server side has the endpoint).
    wait_ping(nodes[SERVER], overlay_address(office, CLIENT), timeout=120)
    wait_ping(client, overlay_address(office, SERVER), timeout=60)

    keep = os.path.join(lab["dir"], "status-page")
    shutil.rmtree(keep, ignore_errors=True)
    os.makedirs(keep)
    html_file = os.path.join(report_dir, "status.html")
    assert os.path.exists(html_file), proc.stdout[-4000:]
    shutil.copy(html_file, os.path.join(keep, "status.html"))
    with open(os.path.join(report_dir, "status.json")) as f:
        report = json.load(f)
    shot, dom = _browser(os.path.join(keep, "status.html"), keep)
    print("\nstatus page: %s\nscreenshot: %s" % (os.path.join(keep, "status.html"), shot))
    return {"proc": proc, "report": report, "dom": Dom(dom), "dom_text": dom, "shot": shot}


def _in_mesh(dom, mesh, attribute):
    return [attrs for _tag, attrs, in_mesh in dom.elements if attribute in attrs and in_mesh == mesh]


def test_status_fails_on_the_stopped_link_and_still_writes_the_page(page):
    proc, report = page["proc"], page["report"]
    assert proc.returncode != 0, proc.stdout[-4000:]
    assert any(line.startswith("%s: %s <-> %s " % ((OFFICE,) + tuple(sorted((CLIENT, SERVER)))))
               for line in report["down"]), report["down"]


def test_drawing_has_one_shape_per_node_and_one_line_per_link_with_its_state(lab, page):
    dom, report = page["dom"], page["report"]
    sections = [attrs["data-mesh"] for _tag, attrs, _mesh in dom.elements if "data-mesh" in attrs]
    assert sorted(sections) == sorted(m["name"] for m in lab["meshes"])
    for mesh in lab["meshes"]:
        name = mesh["name"]
        shapes = [attrs["data-node"] for attrs in _in_mesh(dom, name, "data-node")]
        assert sorted(shapes) == sorted(mesh["nodes"]), name
        drawn = {}
        for attrs in _in_mesh(dom, name, "data-link"):
            assert attrs["data-link"] not in drawn, attrs
            drawn[attrs["data-link"]] = attrs["data-state"]
        planned = {"--".join(sorted(pair)) for pair in itertools.combinations(mesh["nodes"], 2)}
        assert set(drawn) == planned, name
        states = {"--".join(sorted(link["nodes"])): link["state"] for link in report["meshes"][name]["links"]}
        assert drawn == states, name
        for link, state in drawn.items():
            if name == OFFICE and link == STOPPED_LINK:
                assert state == "down", (name, link)
            else:
                assert state != "down", (name, link, report["down"])


def test_each_link_is_one_line_and_the_stopped_one_is_dashed(page):
    group = page["dom_text"].split('data-link="%s" data-state="down"' % STOPPED_LINK, 1)
    assert len(group) == 2, "no down group for %s" % STOPPED_LINK
    body = group[1].split("</g>", 1)[0]
    assert body.count("<line ") == 1 and "stroke-dasharray" in body, body


def test_page_says_how_many_links_are_down_and_when(page):
    dom, report = page["dom"], page["report"]
    total = sum(len(m["links"]) for m in report["meshes"].values())
    summary = [a for _t, a, _i in dom.elements if "data-down" in a]
    assert len(summary) == 1
    assert (int(summary[0]["data-links"]), int(summary[0]["data-down"])) == (total, len(report["down"]))
    assert "<title>%d links, %d down" % (total, len(report["down"])) in page["dom_text"]
    assert "report taken 20" in page["dom_text"]


def test_screenshot_was_taken(page):
    width, height = _png_size(page["shot"])
    assert (width, height) == WINDOW
    assert os.path.getsize(page["shot"]) > 20000


def test_the_stopped_link_is_back(lab, nodes):
    """What the fixture restored: both Backhaul ends active again."""
    assert nodes[CLIENT].run("systemctl is-active %s", INSTANCE).stdout.strip() == "active"
    server_instance = "backhaul@%s.%s.service" % (OFFICE, CLIENT)
    assert nodes[SERVER].run("systemctl is-active %s", server_instance).stdout.strip() == "active"
    assert node_by_name(lab, CLIENT)["nat"]
