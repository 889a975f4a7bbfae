#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: backhaul_links
short_description: Write every Backhaul link config of a node and run one systemd instance per link
version_added: "0.1.0"
description:
  - Takes all planned Backhaul links of the node at once (the C(backhaul) lists of
    C(smite.wgmesh.mesh_host_plan)) and writes one config per link,
    C(<config_dir>/<instance>.toml), mode 0600, atomically and only when its content changed.
  - Writes for each link the drop-in C(<systemd_dir>/backhaul@<instance>.service.d/wgmesh.conf)
    with C(After=), C(Wants=) and C(PartOf=) on C(wg-quick@wg-<mesh>.service), so the link
    starts after its WireGuard interface and restarts with it. A Backhaul client whose first
    delivery to WireGuard is refused stays half-open for good.
  - Writes for each mesh with links the drop-in
    C(<systemd_dir>/wg-quick@wg-<mesh>.service.d/wgmesh-links.conf) with C(Wants=) on every
    link of the mesh, so starting the interface (at boot, by hand, by a restart) starts its links.
  - Removes the config and drop-in of links no longer planned, but only files this module
    wrote (recognised by their first line) and only for meshes in O(meshes), meshes of
    O(links), or any mesh with O(prune_all=true). Other files and other meshes are never touched.
  - With O(manage_services=true), stops and disables removed instances, reloads systemd when a
    drop-in changed, enables every planned C(backhaul@<instance>.service), restarts those whose
    config or drop-in changed and starts those not running. Run it after the meshes'
    WireGuard interfaces are up.
  - Writes C(skip_optz = true) (Backhaul would otherwise rewrite host sysctls) and
    C(web_port = 0) (no unauthenticated status page); refuses Backhaul's default token.
  - Tokens are never returned; diffs show them masked.
author:
  - smite.wgmesh contributors (@smite)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  links:
    description:
      - Planned links of this node, as in C(docs/plan-format.md). An empty list with
        O(meshes) or O(prune_all) removes links.
    type: list
    elements: dict
    required: true
    suboptions:
      instance:
        description: Link name, C(<mesh>.<peer>); file and systemd instance name.
        type: str
        required: true
      mesh:
        description: Mesh the link belongs to; its interface is C(wg-<mesh>).
        type: str
        required: true
      peer:
        description: The node at the other end (informational).
        type: str
      mode:
        description: Which end of the link this node is.
        type: str
        required: true
        choices: [server, client]
      bind_port:
        description: Backhaul port P; a server binds C(0.0.0.0:P) on TCP and UDP.
        type: int
        required: true
      loopback_port:
        description: Server only. Loopback port L of the C(ports) listener (the WireGuard endpoint C(127.0.0.1:L)).
        type: int
      target_port:
        description: Server only. The peer's WireGuard ListenPort, where the client delivers.
        type: int
      remote:
        description: Client only. C(<server public address>:<bind_port>).
        type: str
      token:
        description: Per-link token; at least 16 printable characters, never C(musix).
        type: str
        required: true
  config_dir:
    description: Directory of the link configs; created with mode 0700 when missing.
    type: path
    default: /etc/backhaul/wgmesh
  systemd_dir:
    description: Where the per-instance drop-in directories go.
    type: path
    default: /etc/systemd/system
  meshes:
    description:
      - Meshes whose unplanned links are removed, in addition to the meshes of O(links).
        Pass every mesh of the inventory so links of a node that left a mesh go too, or just
        the mesh being deleted.
    type: list
    elements: str
    default: []
  prune_all:
    description: Remove every link file this module wrote that is not in O(links), whatever its mesh.
    type: bool
    default: false
  log_level:
    description: Backhaul C(log_level) written to every config.
    type: str
    choices: [panic, fatal, error, warn, info, debug, trace]
    default: info
  manage_services:
    description: Also enable, start, restart, stop and disable the C(backhaul@) instances.
    type: bool
    default: true
  unit_content:
    description:
      - The content of the C(backhaul@.service) template unit, written to
        C(<systemd_dir>/backhaul@.service) (0644) when it differs, then systemd is reloaded.
        Omit it to leave the unit alone (for example on a host with no link left).
    type: str
  daemon_reload:
    description: Reload systemd even if no drop-in changed (e.g. the C(backhaul@.service) template changed).
    type: bool
    default: false
  restart_all:
    description: Restart every planned instance (e.g. the Backhaul binary changed).
    type: bool
    default: false
requirements:
  - systemd (C(systemctl)) when O(manage_services=true).
attributes:
  platform:
    platforms: posix
  check_mode:
    support: full
    details: Reads files and unit states, predicts every change, writes and restarts nothing.
  diff_mode:
    support: full
    details:
      - One diff per written or removed config (token masked) and drop-in.
notes:
  - The C(backhaul@.service) template unit is installed by the C(smite.wgmesh.backhaul) role.
seealso:
  - module: smite.wgmesh.wg_sync
'''

EXAMPLES = r'''
- name: Configure and run this node's Backhaul links (after WireGuard is up)
  smite.wgmesh.backhaul_links:
    links: "{{ wgmesh_host_plan | map(attribute='backhaul') | flatten }}"
    meshes: "{{ wgmesh_meshes | map(attribute='name') | list }}"

- name: Remove every link of the deleted mesh "office", leave the other meshes alone
  smite.wgmesh.backhaul_links:
    links: []
    meshes: [office]
'''

RETURN = r'''
instances:
  description: All planned instances (C(backhaul@<instance>.service)).
  returned: always
  type: list
  elements: str
  sample: [office.node-tr, office.node-uae]
changed_instances:
  description: Instances whose config or drop-in was (or in check mode would be) written.
  returned: always
  type: list
  elements: str
  sample: [office.node-uae]
removed_instances:
  description: Instances whose files were (or would be) removed.
  returned: always
  type: list
  elements: str
  sample: [backup.node-ir]
started_instances:
  description: Instances (re)started, or that would be; empty with O(manage_services=false).
  returned: always
  type: list
  elements: str
  sample: [office.node-uae]
'''

import glob
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.smite.wgmesh.plugins.module_utils.backhaul import (
    DROPIN_MARKER,
    LOG_LEVELS,
    MASK,
    BackhaulError,
    mask_token,
    plan_files,
    render_dropin,
    render_mesh_dropin,
)
from ansible_collections.smite.wgmesh.plugins.module_utils.files import read_file, write_file
from ansible_collections.smite.wgmesh.plugins.module_utils.names import link_unit as unit, mesh_unit
from ansible_collections.smite.wgmesh.plugins.module_utils.systemd_units import parse_show

LINK_SPEC = dict(
    instance=dict(type='str', required=True),
    mesh=dict(type='str', required=True),
    peer=dict(type='str'),
    mode=dict(type='str', required=True, choices=['server', 'client']),
    bind_port=dict(type='int', required=True),
    loopback_port=dict(type='int'),
    target_port=dict(type='int'),
    remote=dict(type='str'),
    token=dict(type='str', required=True, no_log=True),
)


class Links(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.diffs = []

    def config_path(self, instance):
        return os.path.join(self.params['config_dir'], instance + '.toml')

    def dropin_path(self, instance):
        return os.path.join(self.params['systemd_dir'], unit(instance) + '.d', 'wgmesh.conf')

    def template_unit(self):
        """Write backhaul@.service when its content is given and differs. True when written."""
        text = self.params['unit_content']
        if text is None:
            return False
        path = os.path.join(self.params['systemd_dir'], 'backhaul@.service')
        before = read_file(path)
        if before == text:
            return False
        self.write(path, text, 0o644, before)
        return True

    def mesh_dropin_path(self, mesh):
        return os.path.join(self.params['systemd_dir'], mesh_unit(mesh) + '.d', 'wgmesh-links.conf')

    def mesh_dropins(self, by_mesh):
        """Write the wg-quick@ drop-in of every mesh with links; remove ours where a mesh in
        scope has none left. True when systemd must reload."""
        scope = set(self.params['meshes']) | set(by_mesh)
        if self.params['prune_all']:
            found = glob.glob(os.path.join(self.params['systemd_dir'], 'wg-quick@wg-*.service.d', 'wgmesh-links.conf'))
            scope.update(path.split('wg-quick@wg-', 1)[1].rsplit('.service.d', 1)[0] for path in found)
        changed = False
        for mesh in sorted(scope):
            path = self.mesh_dropin_path(mesh)
            before = read_file(path)
            if mesh in by_mesh:
                text = render_mesh_dropin(sorted(by_mesh[mesh]))
                if before != text:
                    self.write(path, text, 0o644, before)
                    changed = True
            elif before is not None and before.startswith(DROPIN_MARKER):
                self.remove(path, before)
                changed = True
        return changed

    def existing_configs(self):
        directory = self.params['config_dir']
        if not os.path.isdir(directory):
            return {}
        return dict((name[:-len('.toml')], read_file(os.path.join(directory, name)))
                    for name in os.listdir(directory) if name.endswith('.toml'))

    def write(self, path, text, mode, before, masked=False):
        shown_before, shown_after = before or '', text
        if masked:
            shown_before, shown_after = mask_token(shown_before), mask_token(text)
            if shown_before == shown_after:
                # Only the token changed: say so, still without showing it.
                shown_after = mask_token(text, MASK + ' (changed)')
        self.diffs.append(dict(before_header=path, after_header=path, before=shown_before, after=shown_after))
        if self.module.check_mode:
            return
        # via a 0600 temporary file: tokens are never readable by others
        write_file(path, text, mode, dir_mode=0o700 if masked else 0o755)

    def remove(self, path, before, masked=False):
        if before is None:
            return
        self.diffs.append(dict(before_header=path, after_header=path,
                               before=mask_token(before) if masked else before, after=''))
        if not self.module.check_mode:
            os.unlink(path)
            directory = os.path.dirname(path)
            if path.endswith('.conf') and not os.listdir(directory):
                os.rmdir(directory)

    def systemctl(self, *args):
        rc, out, err = self.module.run_command([self.systemctl_bin] + list(args))
        if rc != 0:
            self.module.fail_json(msg='systemctl %s failed: %s' % (' '.join(args), (err or out).strip()),
                                  rc=rc)
        return out

    def unit_states(self, instances):
        """{instance: (UnitFileState, ActiveState)} in one systemctl call."""
        out = self.systemctl('show', '--property=Id,UnitFileState,ActiveState',
                             *[unit(name) for name in instances])
        states = parse_show(out)
        return dict((name, (states.get(unit(name), {}).get('UnitFileState', ''),
                            states.get(unit(name), {}).get('ActiveState', ''))) for name in instances)

    def run(self):
        params = self.params
        existing = self.existing_configs()
        try:
            files = plan_files(params['links'], existing, params['meshes'], params['prune_all'],
                               params['log_level'])
        except BackhaulError as exc:
            self.module.fail_json(msg=str(exc))
        configs, removed = files['configs'], files['removed']
        meshes = dict((link['instance'], link['mesh']) for link in params['links'])
        dropins_changed = set()
        for instance in sorted(configs):
            text = render_dropin(meshes[instance])
            before = read_file(self.dropin_path(instance))
            if before != text:
                dropins_changed.add(instance)
                self.write(self.dropin_path(instance), text, 0o644, before)
        changed = sorted(set(files['changed']) | dropins_changed)
        by_mesh = {}
        for instance, mesh in meshes.items():
            by_mesh.setdefault(mesh, []).append(instance)
        mesh_dropins_changed = self.mesh_dropins(by_mesh)
        unit_changed = self.template_unit()

        manage = params['manage_services'] and bool(configs or removed or mesh_dropins_changed or unit_changed)
        if manage:
            self.systemctl_bin = self.module.get_bin_path('systemctl', required=True)
            if removed and not self.module.check_mode:
                self.systemctl('disable', '--now', *[unit(name) for name in removed])
        for instance in files['changed']:
            self.write(self.config_path(instance), configs[instance], 0o600,
                       existing.get(instance), masked=True)
        for instance in removed:
            self.remove(self.config_path(instance), existing[instance], masked=True)
            self.remove(self.dropin_path(instance), read_file(self.dropin_path(instance)))

        if manage and (dropins_changed or mesh_dropins_changed or unit_changed or removed or params['daemon_reload']) \
                and not self.module.check_mode:
            self.systemctl('daemon-reload')
        started, enabled = [], []
        if manage and configs:
            states = self.unit_states(sorted(configs))
            enabled = [name for name in sorted(configs) if states[name][0] != 'enabled']
            restart = set(changed) | set(configs if params['restart_all'] else ())
            started = [name for name in sorted(configs) if name in restart or states[name][1] != 'active']
            if not self.module.check_mode:
                if enabled:
                    self.systemctl('enable', *[unit(name) for name in enabled])
                if started:
                    self.systemctl('restart', *[unit(name) for name in started])

        result = dict(
            changed=bool(changed or removed or started or enabled or mesh_dropins_changed or unit_changed),
            instances=sorted(configs),
            changed_instances=changed,
            removed_instances=removed,
            started_instances=started,
        )
        if self.module._diff:
            result['diff'] = self.diffs
        self.module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            links=dict(type='list', elements='dict', required=True, options=LINK_SPEC),
            config_dir=dict(type='path', default='/etc/backhaul/wgmesh'),
            systemd_dir=dict(type='path', default='/etc/systemd/system'),
            meshes=dict(type='list', elements='str', default=[]),
            prune_all=dict(type='bool', default=False),
            log_level=dict(type='str', default='info',
                           choices=list(LOG_LEVELS)),
            manage_services=dict(type='bool', default=True),
            unit_content=dict(type='str'),
            daemon_reload=dict(type='bool', default=False),
            restart_all=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    Links(module).run()


if __name__ == '__main__':
    main()
