# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the collection's playbooks as AWX runs a job: through ansible-runner, from a private
data directory laid out as AWX writes it (docs/awx.md, "What the tests reproduce").

    <job>/inventory/hosts   an executable script printing the inventory as JSON (AWX's form)
    <job>/env/extravars     the job's extra vars (survey answers, a workflow's artifacts) as YAML,
                            every string value tagged !unsafe (AWX's default: no Jinja in them)
    <job>/env/cmdline       --ask-vault-pass --forks=N   (AWX adds --ask-vault-pass for a vault credential)
    <job>/env/passwords     {"Vault password:\\s*?$": PASSWORD}   (AWX answers the prompt with it)
    <job>/env/envvars       ANSIBLE_COLLECTIONS_PATH: where the execution environment holds the collection
    <job>/project/          the project checkout (this repository's tracked files)

Slicing as AWX does it: slice k of N gets every Nth host (sorted by name, starting at the
k-th), with all group vars; the slices run in parallel; a workflow's next job gets the
artifacts (set_stats) of the slices merged key by key at the top level, in the order the
slices finished. Used by extensions/molecule/awx and tests/bench/bench_awx.py.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import concurrent.futures
import copy
import glob
import json
import os
import subprocess
import sys
import time

import yaml

REPO = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BIN = os.path.dirname(sys.executable)
VAULT_PROMPT = r"Vault password:\s*?$"


def tool(name):
    return os.path.join(BIN, name)


def tracked_files(root=REPO):
    """The repository's files as a clone has them (tracked, or new and not ignored)."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                         stdout=subprocess.PIPE, check=True).stdout.decode()
    return sorted(p for p in out.split("\0") if p and os.path.isfile(os.path.join(root, p)))


def copy_tree(files, src, dest):
    for rel in files:
        target = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(os.path.join(src, rel), "rb") as f_in, open(target, "wb") as f_out:
            f_out.write(f_in.read())
        os.chmod(target, os.stat(os.path.join(src, rel)).st_mode & 0o777)


def clean_env():
    """This environment without Ansible's or Molecule's settings nor a PYTHONPATH (`make pytest`
    puts a copy of the collection on it): an AWX job or an EE build starts from its own. This
    venv's tools come first on PATH."""
    env = dict((k, v) for k, v in os.environ.items()
               if not k.startswith(("ANSIBLE_", "MOLECULE_")) and k != "PYTHONPATH")
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    return env


def run(argv, cwd=None):
    proc = subprocess.run(argv, cwd=cwd, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError("%s failed (exit %d):\n%s" % (" ".join(argv), proc.returncode, proc.stdout[-4000:]))
    return proc.stdout


def build_and_install(workdir):
    """`ansible-galaxy collection build` of this tree (galaxy.yml's build_ignore leaves dev
    files out), then `ansible-galaxy collection install` of the tarball into
    workdir/collections, as an EE build does. Returns (tarball, collections path, install output)."""
    dist = os.path.join(workdir, "dist")
    run([tool("ansible-galaxy"), "collection", "build", "--output-path", dist, REPO])
    tarball = glob.glob(os.path.join(dist, "smite-wgmesh-*.tar.gz"))[0]
    collections = os.path.join(workdir, "collections")
    out = run([tool("ansible-galaxy"), "collection", "install", "--no-deps", "-p", collections, tarball])
    if not os.path.isfile(os.path.join(collections, "ansible_collections", "smite", "wgmesh", "MANIFEST.json")):
        raise RuntimeError("the collection was not installed into %s:\n%s" % (collections, out))
    return tarball, collections, out


def vault_encrypt(value, password, workdir):
    """The value encrypted with `ansible-vault encrypt`, in the JSON inventory form
    {"__ansible_vault": CIPHERTEXT} (a vaulted variable of the inventory)."""
    pw_file = os.path.join(workdir, "vault-password")
    with open(pw_file, "w") as f:
        f.write(password + "\n")
    os.chmod(pw_file, 0o600)
    try:
        out = subprocess.run([tool("ansible-vault"), "encrypt", "--vault-password-file", pw_file, "--output", "-"],
                             input=value, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, check=True).stdout
    finally:
        os.unlink(pw_file)
    return {"__ansible_vault": out}


class _Unsafe(str):
    """A string value AWX writes as !unsafe into env/extravars."""


class _ExtraVarsDumper(yaml.SafeDumper):
    pass


_ExtraVarsDumper.add_representer(_Unsafe, lambda dumper, data: dumper.represent_scalar("!unsafe", str(data)))


def _mark_unsafe(value):
    if isinstance(value, dict):
        return dict((k, _mark_unsafe(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_mark_unsafe(v) for v in value]
    return _Unsafe(value) if isinstance(value, str) else value


def extravars_yaml(extravars):
    """env/extravars as AWX writes it: YAML whose string values are all !unsafe."""
    return yaml.dump(_mark_unsafe(extravars), Dumper=_ExtraVarsDumper, default_flow_style=False)


def slices(hosts, count):
    """AWX's job slicing: slice k (1..count) runs hosts[k-1::count] of the hosts by name."""
    ordered = sorted(hosts)
    return [ordered[k::count] for k in range(count)]


def slice_inventory(inventory, hosts):
    """The script-inventory JSON of one slice: only `hosts`, every group and group var."""
    inv = copy.deepcopy(inventory)
    keep = set(hosts)
    for name, group in inv.items():
        if name != "_meta" and isinstance(group, dict) and "hosts" in group:
            group["hosts"] = [h for h in group["hosts"] if h in keep]
    inv["_meta"]["hostvars"] = dict((h, v) for h, v in inv["_meta"]["hostvars"].items() if h in keep)
    return inv


class Job(object):
    """One job: its private data directory, then, once run, its rc, status and events."""

    def __init__(self, workdir, name, inventory, extravars, vault_password, collections, forks=10):
        self.name = name
        self.dir = os.path.join(workdir, name)
        self.rc = None
        self.status = None
        self.seconds = None
        self.finished = None
        self.stdout = ""
        os.makedirs(os.path.join(self.dir, "inventory"))
        os.makedirs(os.path.join(self.dir, "env"))
        hosts = os.path.join(self.dir, "inventory", "hosts")
        with open(hosts, "w") as f:
            f.write("#!%s\n# -*- coding: utf-8 -*-\nprint(%r)\n" % (sys.executable, json.dumps(inventory)))
        os.chmod(hosts, 0o700)
        self._write("env/extravars", extravars_yaml(extravars))
        self._write("env/passwords", {VAULT_PROMPT: vault_password})
        self._write("env/envvars", {"ANSIBLE_COLLECTIONS_PATH": collections, "ANSIBLE_NOCOLOR": "1"})
        with open(os.path.join(self.dir, "env", "cmdline"), "w") as f:
            f.write("--ask-vault-pass --forks=%d" % forks)
        copy_tree(project_files(), REPO, os.path.join(self.dir, "project"))

    def _write(self, rel, data):
        path = os.path.join(self.dir, rel)
        with open(path, "w") as f:
            f.write(data if isinstance(data, str) else json.dumps(data))
        os.chmod(path, 0o600)

    def run(self, playbook):
        start = time.monotonic()
        # No ANSIBLE_CONFIG: AWX uses the project's ansible.cfg, and there is none at its root.
        proc = subprocess.run([tool("ansible-runner"), "run", self.dir, "-p", playbook, "--ident", self.name],
                              env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                              check=False)
        self.seconds = time.monotonic() - start
        self.finished = time.monotonic()
        self.stdout = proc.stdout
        art = self.artifacts_dir
        self.rc = int(open(os.path.join(art, "rc")).read().strip())
        self.status = open(os.path.join(art, "status")).read().strip()
        return self

    @property
    def artifacts_dir(self):
        return os.path.join(self.dir, "artifacts", self.name)

    def events(self):
        """The job events (what AWX stores in its database), in order."""
        events = []
        for path in glob.glob(os.path.join(self.artifacts_dir, "job_events", "*.json")):
            with open(path) as f:
                events.append(json.load(f))
        return sorted(events, key=lambda e: e.get("counter", 0))

    def stats(self):
        """The playbook_on_stats event's data: per-host counters and the set_stats artifact_data."""
        found = [e["event_data"] for e in self.events() if e.get("event") == "playbook_on_stats"]
        assert found, "no playbook_on_stats event in job %s:\n%s" % (self.name, self.stdout[-3000:])
        return found[-1]

    def artifact_data(self):
        return self.stats().get("artifact_data") or {}

    def changed(self):
        return dict((h, n) for h, n in (self.stats().get("changed") or {}).items() if n)


_PROJECT = []


def project_files():
    if not _PROJECT:
        _PROJECT.extend(tracked_files())
    return _PROJECT


def run_parallel(jobs, playbook):
    """Run the jobs at once (one ansible-runner each), as AWX runs the slices of a job."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(lambda job: job.run(playbook), jobs))


def merge_artifacts(jobs):
    """What AWX hands the next job of a workflow: the artifacts of the slices merged key by
    key at the top level (dict.update), in the order the slices finished."""
    merged = {}
    for job in sorted(jobs, key=lambda j: j.finished):
        merged.update(job.artifact_data())
    return merged


def sliced_pass(workdir, tag, inventory, hosts, count, vault_password, collections):
    """publish in `count` slices in parallel, then site in `count` slices in parallel with the
    merged artifacts as extra vars. Returns (publish jobs, merged artifacts, site jobs)."""
    parts = slices(hosts, count)
    publish = [Job(workdir, "%s-publish-%d" % (tag, k + 1), slice_inventory(inventory, part), {},
                   vault_password, collections) for k, part in enumerate(parts)]
    run_parallel(publish, "playbooks/publish.yml")
    merged = merge_artifacts(publish)
    site = [Job(workdir, "%s-site-%d" % (tag, k + 1), slice_inventory(inventory, part), merged,
                vault_password, collections) for k, part in enumerate(parts)]
    if all(job.rc == 0 for job in publish):
        run_parallel(site, "playbooks/site.yml")
    return publish, merged, site
