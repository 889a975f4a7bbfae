# -*- coding: utf-8 -*-
# Copyright (c) 2025, smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import errno

import pytest

from ansible_collections.smite.wgmesh.plugins.module_utils.sysctl import (
    SysctlError, apply_live, key_path, normalize, plan_live, render_file,
)


def test_key_path_dots_and_slashes():
    assert key_path('net.ipv4.ip_forward') == 'net/ipv4/ip_forward'
    assert key_path('net/ipv4/conf/wg-a.b/send_redirects') == 'net/ipv4/conf/wg-a.b/send_redirects'
    assert key_path('/net/ipv4/ip_forward') == 'net/ipv4/ip_forward'


@pytest.mark.parametrize('key', ['', 'net..ipv4', 'net/../../etc/passwd', 'net/./x'])
def test_key_path_rejects_bad_keys(key):
    with pytest.raises(ValueError):
        key_path(key)


def test_normalize():
    assert normalize('32768\t60999\n') == '32768 60999'
    assert normalize(1) == '1'
    assert normalize(True) == '1'


def test_render_file_sorted_with_header():
    text = render_file({'net.ipv4.ip_forward': 1, 'net.ipv4.conf.all.send_redirects': '0'})
    assert text.splitlines() == [
        '# managed by smite.wgmesh: changes are overwritten',
        'net.ipv4.conf.all.send_redirects = 0',
        'net.ipv4.ip_forward = 1',
    ]


def fake_proc(values):
    return values.get


def test_plan_live_writes_only_what_differs():
    read = fake_proc({'net/ipv4/ip_forward': '0\n', 'net/ipv4/conf/all/send_redirects': '0\n'})
    to_write, missing = plan_live(
        {'net.ipv4.ip_forward': 1, 'net.ipv4.conf.all.send_redirects': 0,
         'net.ipv4.conf.wg-x.send_redirects': 0}, read)
    assert to_write == [('net.ipv4.ip_forward', '0', '1')]
    assert missing == ['net.ipv4.conf.wg-x.send_redirects']


class Recorder(object):
    def __init__(self, writable=True, error=None):
        self.writes = []
        self._writable = writable
        self.error = error

    def write(self, path, value):
        if self.error:
            raise OSError(self.error, 'boom')
        self.writes.append((path, value))

    def writable(self, path):
        return self._writable


def test_apply_live_writes():
    rec = Recorder()
    apply_live([('net.ipv4.ip_forward', '0', '1')], rec.write, rec.writable)
    assert rec.writes == [('net/ipv4/ip_forward', '1')]


def test_apply_live_check_mode_writes_nothing():
    rec = Recorder()
    apply_live([('net.ipv4.ip_forward', '0', '1')], rec.write, rec.writable, check_mode=True)
    assert rec.writes == []


@pytest.mark.parametrize('check_mode', [False, True])
def test_apply_live_read_only_wrong_value_fails_naming_key_wanted_and_current(check_mode):
    rec = Recorder(writable=False)
    with pytest.raises(SysctlError) as exc:
        apply_live([('net.ipv4.ip_forward', '0', '1')], rec.write, rec.writable, check_mode)
    message = str(exc.value)
    assert 'net.ipv4.ip_forward is 0 but must be 1' in message
    assert 'read-only' in message
    assert rec.writes == []


def test_apply_live_write_error_fails_clearly():
    rec = Recorder(error=errno.EINVAL)
    with pytest.raises(SysctlError, match='net.ipv4.ip_forward is 0 but must be 1.*Invalid argument'):
        apply_live([('net.ipv4.ip_forward', '0', '1')], rec.write, rec.writable)


def test_read_only_but_right_needs_nothing():
    # the container case: /proc/sys read-only, value preset by the runtime
    to_write, missing = plan_live({'net.ipv4.ip_forward': 1}, fake_proc({'net/ipv4/ip_forward': '1\n'}))
    assert to_write == [] and missing == []
    rec = Recorder(writable=False)
    apply_live(to_write, rec.write, rec.writable)
    assert rec.writes == []
