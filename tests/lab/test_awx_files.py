# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What AWX needs besides the playbooks (issue #9; docs/awx.md): the collection tarball an EE
build installs, the execution-environment definition ansible-builder reads, the job
template surveys, and the slicing harness's pure parts (tests/lab/awx_jobs.py)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import glob
import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import awx_jobs  # noqa: E402  pylint: disable=wrong-import-position

REPO = awx_jobs.REPO
SURVEYS = sorted(glob.glob(os.path.join(REPO, "docs", "awx", "surveys", "*.json")))
# AWX's survey question types and the Python type of their default (JobTemplateSurveySpec.ALLOWED_TYPES).
AWX_TYPES = {"text": str, "textarea": str, "password": str, "multiplechoice": str, "multiselect": str,
             "integer": int, "float": (float, int)}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("galaxy"))
    tarball, collections, _out = awx_jobs.build_and_install(workdir)
    return {"dir": workdir, "tarball": tarball, "collections": collections,
            "root": os.path.join(collections, "ansible_collections", "smite", "wgmesh")}


def test_tarball_holds_the_collection_and_no_dev_files(installed):
    with tarfile.open(installed["tarball"]) as tar:
        names = tar.getnames()
    for wanted in ("MANIFEST.json", "playbooks/publish.yml", "playbooks/site.yml", "roles/wireguard/tasks/publish.yml",
                   "plugins/filter/publish.py", "plugins/plugin_utils/publish.py", "meta/runtime.yml",
                   "meta/execution-environment.yml", "requirements.txt", "bindep.txt", "docs/awx.md"):
        assert wanted in names, wanted
    dev = [n for n in names if n.split("/")[0] in ("tests", "molecule", "build", "requirements", ".venv", "context")]
    assert dev == []


def test_installed_collection_exposes_its_playbooks(installed):
    """`smite.wgmesh.publish` (and the others) resolve from the installed tarball, as a job
    template in an EE would name them."""
    env = awx_jobs.clean_env()
    env["ANSIBLE_COLLECTIONS_PATH"] = installed["collections"]
    for name in ("publish", "site", "plan", "status", "rotate_keys", "remove"):
        proc = subprocess.run([awx_jobs.tool("ansible-playbook"), "--syntax-check", "-i", "localhost,",
                               "smite.wgmesh." + name], env=env, cwd=installed["dir"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, check=False)
        assert proc.returncode == 0, (name, proc.stdout[-2000:])


def test_builder_introspection_finds_netaddr_and_ssh(installed):
    """What ansible-builder's introspection reads from the installed collection (the step the
    Containerfile runs after installing it): netaddr for the planner, an SSH client."""
    out = subprocess.run([awx_jobs.tool("ansible-builder"), "introspect", "--sanitize", installed["collections"]],
                         env=awx_jobs.clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True, check=True).stdout
    found = yaml.safe_load(out[out.index("python:"):]) if "python:" in out else {}
    python = " ".join(found.get("python") or [])
    system = " ".join(found.get("system") or [])
    assert "netaddr" in python and "smite.wgmesh" in python, out
    assert "openssh-clients [platform:rpm]" in system, out


def test_builder_create_makes_a_context_that_installs_the_collection(installed, tmp_path):
    """`ansible-builder create` on the repository's definition (copied beside the tarball it
    names, as `make ee-context` lays them out)."""
    src = tmp_path / "src"
    (src / "build" / "ee").mkdir(parents=True)
    shutil.copy(os.path.join(REPO, "execution-environment.yml"), str(src))
    shutil.copy(installed["tarball"], str(src / "build" / "ee" / "smite-wgmesh.tar.gz"))
    context = tmp_path / "context"
    proc = subprocess.run([awx_jobs.tool("ansible-builder"), "create", "--file", str(src / "execution-environment.yml"),
                           "--context", str(context)], env=awx_jobs.clean_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stdout
    containerfile = (context / "Containerfile").read_text()
    build = context / "_build"
    requirements = yaml.safe_load((build / "requirements.yml").read_text())
    assert requirements == {"collections": [{"name": "collections/smite-wgmesh.tar.gz", "type": "file"}]}
    with tarfile.open(str(build / "collections" / "smite-wgmesh.tar.gz")) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    assert (manifest["collection_info"]["namespace"], manifest["collection_info"]["name"]) == ("smite", "wgmesh")
    # The galaxy stage installs it; the builder stage introspects it (requirements.txt: netaddr)
    # and the final stage installs what introspection found.
    assert "ansible-galaxy collection install" in containerfile and "-r requirements.yml" in containerfile
    assert "/output/scripts/introspect" in containerfile and "/output/scripts/install-from-bindep" in containerfile
    assert "ansible-core==2.19.14" in containerfile and "ansible-runner==2.4.3" in containerfile


def _survey_problems(spec):
    """AWX's checks on a job template survey (JobTemplateSurveySpec._validate_spec_data)."""
    problems = []
    for field, kind in (("name", str), ("description", str), ("spec", list)):
        if not isinstance(spec.get(field), kind):
            problems.append("%s: missing or not a %s" % (field, kind.__name__))
    if problems or not spec["spec"]:
        return problems or ["spec: no question"]
    variables = set()
    for idx, item in enumerate(spec["spec"]):
        if not isinstance(item, dict):
            problems.append("question %d: not an object" % idx)
            continue
        for field in ("type", "question_name", "variable", "required"):
            kind = bool if field == "required" else str
            if not isinstance(item.get(field), kind):
                problems.append("question %d: %s missing or not a %s" % (idx, field, kind.__name__))
        if item.get("variable") in variables:
            problems.append("question %d: variable %s twice" % (idx, item.get("variable")))
        variables.add(item.get("variable"))
        qtype = item.get("type")
        if qtype not in AWX_TYPES:
            problems.append("question %d: type %r not one of %s" % (idx, qtype, ", ".join(AWX_TYPES)))
            continue
        if item.get("default", "") != "" and not isinstance(item["default"], AWX_TYPES[qtype]):
            problems.append("question %d: default of the wrong type" % idx)
        for key in ("min", "max"):
            if item.get(key) is not None and not isinstance(item[key], int):
                problems.append("question %d: %s not an integer" % (idx, key))
        if qtype in ("multiplechoice", "multiselect"):
            choices = item.get("choices")
            if choices is None:
                problems.append("question %d: %s needs choices" % (idx, qtype))
                continue
            choices = choices.splitlines() if isinstance(choices, str) else choices
            defaults = str(item.get("default") or "").splitlines()
            if qtype == "multiplechoice" and len(defaults) > 1:
                problems.append("question %d: one default only" % idx)
            if any(d not in choices for d in defaults):
                problems.append("question %d: default not among the choices" % idx)
        if str(item.get("default", "")).startswith("$encrypted$"):
            problems.append("question %d: $encrypted$ is reserved" % idx)
    return problems


def test_the_survey_checker_refuses_what_awx_refuses():
    question = {"question_name": "Mesh", "variable": "mesh", "type": "text", "required": True}
    good = {"name": "n", "description": "d", "spec": [question]}
    assert _survey_problems(good) == []
    assert _survey_problems(dict(good, spec=[])) == ["spec: no question"]
    assert _survey_problems({"name": "n", "spec": good["spec"]}) == ["description: missing or not a str"]
    bad = [dict(good["spec"][0], type="string"), dict(good["spec"][0], required="yes"),
           dict(good["spec"][0], type="multiplechoice", choices=["a", "b"], default="c"),
           dict(good["spec"][0], type="integer", default="1"), dict(good["spec"][0], max="12")]
    for question in bad:
        assert _survey_problems(dict(good, spec=[question])), question
    assert _survey_problems(dict(good, spec=good["spec"] * 2)) == ["question 1: variable mesh twice"]


def test_one_survey_per_job_template_that_takes_a_mesh():
    assert [os.path.basename(p) for p in SURVEYS] == ["remove.json", "rotate_keys.json", "status.json"]


@pytest.mark.parametrize("path", SURVEYS, ids=os.path.basename)
def test_survey_is_valid_for_awx_and_asks_for_the_mesh(path):
    with open(path) as f:
        spec = json.load(f)
    assert _survey_problems(spec) == []
    mesh = [q for q in spec["spec"] if q["variable"] == "mesh"]
    assert len(mesh) == 1 and mesh[0]["type"] == "text" and mesh[0]["max"] == 12  # mesh names: 1-12 characters
    # A mesh must be named to rotate or remove; status checks every mesh when it is left empty.
    assert mesh[0]["required"] is (os.path.basename(path) != "status.json")


def test_slices_are_every_nth_host_by_name_with_every_group_var():
    assert awx_jobs.slices(["d", "b", "a", "c", "e"], 3) == [["a", "d"], ["b", "e"], ["c"]]
    inventory = {"all": {"children": ["wgmesh_nodes"], "vars": {"wgmesh_meshes": []}},
                 "wgmesh_nodes": {"hosts": ["a", "b", "c"]},
                 "_meta": {"hostvars": {"a": {"x": 1}, "b": {"x": 2}, "c": {"x": 3}}}}
    part = awx_jobs.slice_inventory(inventory, ["a", "c"])
    assert part == {"all": {"children": ["wgmesh_nodes"], "vars": {"wgmesh_meshes": []}},
                    "wgmesh_nodes": {"hosts": ["a", "c"]}, "_meta": {"hostvars": {"a": {"x": 1}, "c": {"x": 3}}}}
    assert inventory["wgmesh_nodes"]["hosts"] == ["a", "b", "c"]  # the whole inventory is untouched


def test_artifacts_merge_key_by_key_in_the_order_the_slices_finished():
    class Done(object):
        def __init__(self, finished, data):
            self.finished, self._data = finished, data

        def artifact_data(self):
            return self._data
    jobs = [Done(3, {"wgmesh_node_c": 3, "shared": "last"}), Done(1, {"wgmesh_node_a": 1, "shared": "first"}),
            Done(2, {"wgmesh_node_b": 2})]
    assert awx_jobs.merge_artifacts(jobs) == {"wgmesh_node_a": 1, "wgmesh_node_b": 2, "wgmesh_node_c": 3,
                                              "shared": "last"}


def test_extravars_are_written_as_awx_writes_them_unsafe_strings():
    """AWX writes a job's extra vars as YAML with every string value tagged !unsafe; Ansible
    reads back the same values."""
    from ansible.parsing.yaml.loader import AnsibleLoader  # pylint: disable=import-outside-toplevel
    extravars = {"mesh": "office", "wgmesh_node_a": {"name": "a", "public_keys": {"office": "K="}, "nat": False,
                                                     "public_address": "{{ x }}"}}
    text = awx_jobs.extravars_yaml(extravars)
    assert "mesh: !unsafe 'office'" in text and "nat: false" in text
    assert yaml.load(text, Loader=AnsibleLoader) == extravars
