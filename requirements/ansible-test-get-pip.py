# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for get-pip.py, which ansible-test downloads to put pip into the virtual
environments of its sanity tests. Its download host is not reachable here (PyPI is), so
`make sanity` places this file in ansible-test's cache: it bootstraps the interpreter's
bundled pip with ensurepip, then installs the requested pip version from PyPI."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import subprocess
import sys

# get-pip.py's own flags; everything else is a pip install argument.
OWN_FLAGS = ("--no-setuptools", "--no-wheel")

subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"],
                      stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, "-m", "pip", "install", "-q"]
                      + [a for a in sys.argv[1:] if a not in OWN_FLAGS])
