# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wgmesh-agent: the node's health agent (Python 3 standard library only).

Installed by the wireguard role as /usr/local/lib/smite-wgmesh/health_agent.py beside the
module_utils it imports, and run by wgmesh-agent.service:

    python3 health_agent.py --config /etc/smite-wgmesh/agent.json [--once]

Each round it reads every mesh of the node (unit states, interface, `wg show dump`, a ping
burst per peer), lets health.Health decide the repairs, runs them with
`systemctl restart --no-block` (a restart never stalls the agent), logs each one with its
reason to the journal, and writes the metrics file and its state file atomically.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import time

try:
    from ansible_collections.smite.wgmesh.plugins.module_utils import files, health, names, systemd_units, wg_dump
except ImportError:  # on a node: the role installs these modules beside this file
    import files
    import health
    import names
    import systemd_units
    import wg_dump

# The files of the program on a node: this one and the modules it imports.
PROGRAM_MODULES = (files, health, names, systemd_units, wg_dump)
C_LOCALE = dict(os.environ, LC_ALL='C', LANG='C')
PING_COUNT, PING_TIMEOUT = 3, 1


def log(message):
    sys.stdout.write(message + '\n')  # stdout goes to the journal
    sys.stdout.flush()


def stop(_signum, _frame):
    raise SystemExit(0)


def run(argv):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          env=C_LOCALE, check=False)
    return proc.returncode, proc.stdout


def read_json(path, default):
    try:
        return json.loads(files.read_file(path) or '')
    except ValueError:
        return default


class Agent(object):
    def __init__(self, config, runner=run, sys_class_net='/sys/class/net', popen=subprocess.Popen):
        self.config = config
        self.run = runner
        self.popen = popen
        self.sys_class_net = sys_class_net
        self.health = health.Health(config, read_json(config['state_file'], {}).get('health'))

    def units(self):
        units = []
        for mesh in self.health.meshes:
            units.append(names.mesh_unit(mesh['mesh']))
            units.extend(names.link_unit(peer['backhaul']['instance'])
                         for peer in mesh['peers'] if peer.get('backhaul'))
        if not units:
            return {}
        _rc, out = self.run(['systemctl', 'show', '--property=Id,ActiveState', '--'] + units)
        return dict((unit, fields.get('ActiveState')) for unit, fields in systemd_units.parse_show(out).items())

    def watched(self):
        """The configured meshes whose wg-quick config still exists (remove.yml deletes it)."""
        config_dir = self.config.get('config_dir', '/etc/wireguard')
        return [mesh for mesh in self.config['meshes']
                if os.path.exists(os.path.join(config_dir, mesh['interface'] + '.conf'))]

    def observe(self):
        self.health.meshes = self.watched()
        states = self.units()
        observations, pings = {}, []
        for mesh in self.health.meshes:
            iface = mesh['interface']
            seen = observations[mesh['mesh']] = {
                'unit': states.get(names.mesh_unit(mesh['mesh'])),
                'interface': os.path.isdir(os.path.join(self.sys_class_net, iface)),
                'dump': None, 'ping': {},
                'backhaul': dict((peer['backhaul']['instance'],
                                  states.get(names.link_unit(peer['backhaul']['instance'])))
                                 for peer in mesh['peers'] if peer.get('backhaul')),
            }
            if not seen['interface']:
                continue
            rc, out = self.run(['wg', 'show', iface, 'dump'])
            try:
                seen['dump'] = wg_dump.parse_dump(out) if rc == 0 else None
            except wg_dump.DumpParseError:
                seen['dump'] = None
            # Bursts to every peer at once: a round costs about one burst, not one per peer.
            pings.extend((seen, peer['node'], self.popen(
                wg_dump.ping_command('ping', peer['address'], PING_COUNT, PING_TIMEOUT, iface),
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True, env=C_LOCALE))
                for peer in mesh['peers'])
        try:
            for seen, node, proc in pings:
                out, _err = proc.communicate()
                seen['ping'][node] = wg_dump.parse_ping(out)
        finally:
            # Stopped mid-round (SIGTERM): no ping may outlive the agent, or systemd would
            # wait for it (in a container, until the stop timeout).
            for _seen, _node, proc in pings:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        return observations

    def round(self):
        started, wall = time.monotonic(), time.time()
        repairs = self.health.observe(self.observe(), time.monotonic(), wall)
        for repair in repairs:
            log(repair['message'])
            rc, _out = self.run(['systemctl', 'restart', '--no-block', repair['unit']])
            if rc != 0:
                log('systemctl restart %s failed (rc %d)' % (repair['unit'], rc))
        usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        agent = {'wall': time.time(), 'duration': time.monotonic() - started,
                 'cpu': sum(u.ru_utime + u.ru_stime for u in usage)}
        files.write_file(self.config['metrics_file'], health.render_metrics(self.health, agent), 0o644)
        state = {'updated': int(agent['wall']), 'interval': self.health.settings['interval'],
                 'report': self.health.report(), 'health': self.health.state}
        files.write_file(self.config['state_file'], json.dumps(state, sort_keys=True) + '\n', 0o644)
        return repairs


def main(argv=None):
    parser = argparse.ArgumentParser(description='smite.wgmesh health agent')
    parser.add_argument('--config', default='/etc/smite-wgmesh/agent.json')
    parser.add_argument('--once', action='store_true', help='run one round and exit')
    opts = parser.parse_args(argv)
    config = read_json(opts.config, None)
    if not isinstance(config, dict) or not isinstance(config.get('meshes'), list):
        log('cannot read the agent config %s' % opts.config)
        return 1
    agent = Agent(config)
    if opts.once:
        agent.round()
        return 0
    signal.signal(signal.SIGTERM, stop)
    log('watching %d mesh(es) every %d s' % (len(config['meshes']), agent.health.settings['interval']))
    interval = agent.health.settings['interval']
    next_round = time.monotonic()
    while True:
        agent.round()
        next_round += interval
        time.sleep(max(0.0, next_round - time.monotonic()))


if __name__ == '__main__':
    raise SystemExit(main())
