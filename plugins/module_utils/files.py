# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""File helpers shared by the node modules and the health agent (pure Python)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import tempfile


def _write_temp(path, content, mode):
    """A complete temporary file beside `path` (created 0600, chmod-ed to `mode` once written)."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.%s.' % os.path.basename(path))
    try:
        with os.fdopen(fd, 'w') as handle:
            handle.write(content)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def _sync_dir(directory):
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def create_exclusive(path, content, mode):
    """Create `path` with `content` unless it exists; False (nothing written) when it does.

    The complete file is linked into place (link(2) fails on an existing name), so when two
    runs race to create one file exactly one wins and the other reads the winner's file,
    never a half-written one. The same privacy as write_atomic().
    """
    tmp = _write_temp(path, content, mode)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)
    _sync_dir(os.path.dirname(path))
    return True


def write_atomic(path, content, mode):
    """Write content to path through a temporary file in the same directory.

    mkstemp creates the temporary file 0600 whatever the umask, and it is only
    chmod-ed to ``mode`` once written, so a private key is never readable by
    others, even briefly, and a reader never sees a half-written file.
    """
    tmp = _write_temp(path, content, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    _sync_dir(os.path.dirname(path))


def write_file(path, content, mode, dir_mode=0o755):
    """write_atomic(), making the missing parent directories first (``dir_mode``)."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, dir_mode)
    write_atomic(path, content, mode)


def read_file(path):
    """The whole text of a file, or None when it cannot be read (missing, a directory, not text...)."""
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError, ValueError):
        return None
