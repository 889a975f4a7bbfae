# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""File helpers shared by the node modules and the health agent (pure Python)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import tempfile


def write_atomic(path, content, mode):
    """Write content to path through a temporary file in the same directory.

    mkstemp creates the temporary file 0600 whatever the umask, and it is only
    chmod-ed to ``mode`` once written, so a private key is never readable by
    others, even briefly, and a reader never sees a half-written file.
    """
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.%s.' % os.path.basename(path))
    try:
        with os.fdopen(fd, 'w') as handle:
            handle.write(content)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


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
