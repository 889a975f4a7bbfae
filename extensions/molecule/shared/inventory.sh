#!/bin/sh
# Ansible script inventory for a Molecule scenario: the lab inventory of $WGMESH_LAB_SCENARIO,
# computed by tests/lab/lab.py from the scenario file (the lab need not be up yet).
here=$(dirname "$(readlink -f "$0")")
repo=$(cd "$here/../../.." && pwd)
py="$repo/.venv/bin/python"
[ -x "$py" ] || py=python3
exec "$py" "$repo/tests/lab/lab.py" inventory "${WGMESH_LAB_SCENARIO:?WGMESH_LAB_SCENARIO is not set}" "$@"
