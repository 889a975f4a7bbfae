# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The status page: one self-contained HTML file (inline SVG and CSS, nothing loaded from
anywhere, no script) drawn from the report `smite.wgmesh.mesh_status_report` returns.

Pure functions, run on the controller: `validate_report` (what the filter checks), `layout`
(where each node of a mesh goes) and `render_page` (the HTML). The same report always gives
the same bytes.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import html
import math
import time

from ansible_collections.smite.wgmesh.plugins.plugin_utils.status import HEADERS, _rows, _size

STATES = ('up', 'degraded', 'down')
# Line colour and pattern per state: the pattern and the label text carry the state too, so
# colour is never the only signal (and a grey-scale print still tells them apart).
STROKE = {'up': '#1a7f37', 'degraded': '#9a6700', 'down': '#cf222e'}
DASH = {'up': None, 'degraded': '12 4 2 4', 'down': '7 5'}
STATE_TEXT = {'up': 'up', 'degraded': 'degraded', 'down': 'DOWN'}
LINE_STYLE_TEXT = {'up': 'solid line', 'degraded': 'dash-dot line', 'down': 'dashed line'}

BOX_W, BOX_H = 200, 78          # node box (px); four text lines
LINE_H = 16
MARGIN = 36
BOX_GAP = 16                    # at least this much between two boxes
RING_MIN = 160                  # smallest ring radius (px)
ELLIPSE = 0.62                  # ring height / width from four nodes on (screens are wide)
# Line left between two linked boxes: room for its label, or (when only links that are not
# up are labelled) enough to see the line and its state.
LINK_ROOM, LINK_ROOM_MANY = 150, 130
# Above this many links the drawing labels (and marks the Backhaul server end of) only the
# links that are not up: a full mesh of 11+ nodes would bury its labels in each other. Every
# line still has its figures and server in its tooltip (<title>) and in the table below.
LABEL_ALL_MAX = 45
NAME_CHARS, TEXT_CHARS = 21, 25
FONT = 'DejaVu Sans Mono, Menlo, Consolas, monospace'

CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  margin: 0; padding: 1rem 1.5rem 3rem; color: #1f2328; background: #fff; }
h1 { font-size: 1.5rem; margin: .5rem 0 .25rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .25rem; border-bottom: 1px solid #d0d7de; padding-bottom: .25rem; }
h2 small { font-weight: normal; color: #57606a; }
.summary { font-size: 1.1rem; margin: .25rem 0 1rem; }
.badge { display: inline-block; padding: 0 .5em; border-radius: 1em; font-weight: 600; border: 2px solid; }
.badge.ok { color: #1a7f37; border-color: #1a7f37; }
.badge.bad { color: #cf222e; border-color: #cf222e; }
.badge.warn { color: #9a6700; border-color: #9a6700; }
figure { margin: .5rem 0 1rem; }
.drawing { overflow: auto; border: 1px solid #d0d7de; border-radius: 6px; background: #fbfcfd; }
.drawing svg { display: block; margin: 0 auto; }
figcaption { color: #57606a; font-size: .9rem; margin-top: .35rem; }
.legend { display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; list-style: none; padding: 0; margin: .35rem 0; }
.legend li { display: flex; align-items: center; gap: .4rem; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: .85rem; white-space: nowrap; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { border: 1px solid #d0d7de; padding: .2rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
tr.state-down td { background: #ffebe9; }
tr.state-degraded td { background: #fff8c5; }
td.why { white-space: normal; min-width: 14rem; }
.state { font-weight: 600; }
.state-down .state { color: #a40e26; }
.state-degraded .state { color: #7d4e00; }
.state-up .state { color: #116329; }
.down-list li { color: #a40e26; }
.traffic { margin: .5rem 0; }
footer { margin-top: 2rem; color: #57606a; font-size: .85rem; }
"""


def _esc(value):
    """HTML-escape a value (text and attributes). Braces too: the page goes through Ansible
    templating on its way to the file, and `{{` in a node name must stay text there as well."""
    text = '' if value is None else '%s' % (value,)
    return html.escape(text, quote=True).replace('{', '&#123;').replace('}', '&#125;')


def _num(value):
    """Coordinates with one decimal, the same on every platform."""
    text = '%.1f' % value
    return '0.0' if text == '-0.0' else text


def _clip(text, limit):
    text = '%s' % (text,)
    return text if len(text) <= limit else text[:limit - 1] + '\u2026'


# --- input -----------------------------------------------------------------------------------

def validate_report(report):
    """Problems that keep `report` from being drawn ([] when it is a status report)."""
    if not hasattr(report, 'get') or not hasattr(report.get('meshes'), 'items'):
        return ['the input must be the report of smite.wgmesh.mesh_status_report (a dict with "meshes")']
    errors = []
    for name, mesh in report['meshes'].items():
        if not hasattr(mesh, 'get') or not isinstance(mesh.get('links'), list):
            errors.append('mesh %r: no list of links' % (name,))
            continue
        if mesh.get('nodes') is not None and not hasattr(mesh['nodes'], 'items'):
            errors.append('mesh %r: nodes must be a dict' % (name,))
        for index, link in enumerate(mesh['links']):
            nodes = link.get('nodes') if hasattr(link, 'get') else None
            if not isinstance(nodes, list) or len(nodes) != 2 or not all(isinstance(n, str) for n in nodes):
                errors.append('mesh %r, link %d: "nodes" must be two node names' % (name, index))
            elif not hasattr(link.get('directions'), 'get'):
                errors.append('mesh %r, link %d: no "directions"' % (name, index))
    if not isinstance(report.get('down', []), list):
        errors.append('"down" must be a list')
    return errors


def link_state(link):
    """up, degraded or down: the report's own `state` (build_report), else from `up`."""
    state = link.get('state')
    if state in STATES:
        return state
    return 'up' if link.get('up') else 'down'


def link_id(link):
    """`a--b`, the two node names sorted (data-link)."""
    return '--'.join(sorted(link['nodes']))


def mesh_nodes(mesh):
    """{node: facts} for every node of a mesh, sorted by name: the report's `nodes` plus any
    node a link names that they lack (a report from before `nodes` existed)."""
    known = mesh.get('nodes') or {}
    names = set(known)
    for link in mesh['links']:
        names.update(link['nodes'])
    return [(name, known.get(name) or {}) for name in sorted(names)]


# --- layout ----------------------------------------------------------------------------------

def _ring(count, hub, rx, ry):
    """Offsets from the centre: the spokes (or every node) clockwise from the top on an
    ellipse, two nodes of a full mesh side by side, the hub in the middle."""
    places = [(0.0, 0.0)] if hub else []
    for index in range(count):
        if count == 2 and not hub:
            angle = math.pi if index == 0 else 0.0
        else:
            angle = -math.pi / 2 + 2 * math.pi * index / count
        places.append((rx * math.cos(angle), ry * math.sin(angle)))
    return places


def _inside(dx, dy):
    """How far a line leaving a box centre in direction (dx, dy) runs inside the box."""
    length = math.hypot(dx, dy) or 1.0
    ux, uy = abs(dx) / length, abs(dy) / length
    limits = ([(BOX_W / 2.0) / ux] if ux else []) + ([(BOX_H / 2.0) / uy] if uy else [])
    return min(limits) if limits else 0.0


def _fits(places, pairs, room):
    """No two boxes closer than BOX_GAP, and every linked pair `room` of line between boxes."""
    for i, (xa, ya) in enumerate(places):
        for xb, yb in places[i + 1:]:
            if abs(xa - xb) < BOX_W + BOX_GAP and abs(ya - yb) < BOX_H + BOX_GAP:
                return False
    for i, j in pairs:
        dx, dy = places[j][0] - places[i][0], places[j][1] - places[i][1]
        if math.hypot(dx, dy) - 2 * _inside(dx, dy) < room:
            return False
    return True


def layout(mesh):
    """Where each node's box goes: {'nodes': {name: (x, y) centre}, 'width', 'height',
    'radius': (rx, ry), 'centre': (x, y)}.

    Nodes sorted by name go clockwise from the top on a circle (up to 3 on it) or a landscape
    ellipse; in hub-spoke the hub sits in the centre and the spokes go around it. The ring
    grows (by 4% steps) until no two boxes touch and every planned link keeps `room` pixels of
    line between its boxes for its label. Deterministic: depends on names and topology only.
    """
    names = [name for name, _facts in mesh_nodes(mesh)]
    hub = mesh.get('hub') if mesh.get('topology') == 'hub-spoke' and mesh.get('hub') in names else None
    ring = [name for name in names if name != hub]
    order = ([hub] if hub else []) + ring
    count = len(ring)
    if hub:
        pairs = [(0, j) for j in range(1, len(order))]
    else:
        pairs = [(i, j) for i in range(len(order)) for j in range(i + 1, len(order))]
    room = LINK_ROOM if len(pairs) <= LABEL_ALL_MAX else LINK_ROOM_MANY
    ratio = 1.0 if count <= 3 else ELLIPSE
    rx = RING_MIN
    for _step in range(400):
        offsets = _ring(count, hub, rx, rx * ratio)
        if _fits(offsets, pairs, room):
            break
        rx *= 1.04
    places = dict(zip(order, offsets)) if order else {}
    if not places:
        return {'nodes': {}, 'width': 2 * MARGIN + BOX_W, 'height': 2 * MARGIN + BOX_H, 'radius': (0.0, 0.0),
                'centre': (MARGIN + BOX_W / 2.0, MARGIN + BOX_H / 2.0)}
    xs = [x for x, _y in places.values()]
    ys = [y for _x, y in places.values()]
    dx = MARGIN + BOX_W / 2.0 - min(xs)
    dy = MARGIN + BOX_H / 2.0 - min(ys)
    nodes = dict((name, (round(x + dx, 1), round(y + dy, 1))) for name, (x, y) in places.items())
    return {'nodes': nodes, 'radius': (round(rx, 1), round(rx * ratio, 1)), 'centre': (round(dx, 1), round(dy, 1)),
            'width': int(math.ceil(max(xs) - min(xs) + BOX_W + 2 * MARGIN)),
            'height': int(math.ceil(max(ys) - min(ys) + BOX_H + 2 * MARGIN))}


def _edge(centre, toward):
    """Where the segment from a box centre toward a point leaves the box."""
    (x, y), (tx, ty) = centre, toward
    dx, dy = tx - x, ty - y
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    limits = [(BOX_W / 2.0 + 3) / abs(ux)] if ux else []
    limits += [(BOX_H / 2.0 + 3) / abs(uy)] if uy else []
    t = min(limits) if limits else 0.0
    return x + ux * t, y + uy * t, ux, uy


def _label_fraction(mesh, names, link, drawing):
    """Where along a line its label goes: the middle, except for lines through the centre of
    the circle (a full mesh with an even ring), whose middles would all coincide."""
    ring = [n for n in names if n != drawing.get('hub')]
    a, b = sorted(link['nodes'])
    if mesh.get('topology') != 'hub-spoke' and len(ring) > 2 and len(ring) % 2 == 0:
        i, j = ring.index(a), ring.index(b)
        if abs(i - j) == len(ring) // 2:
            return 0.3 if i < j else 0.7
    return 0.5


# --- text ------------------------------------------------------------------------------------

def _worst(link, key):
    values = [view.get(key) for view in (link.get('directions') or {}).values()
              if hasattr(view, 'get') and view.get(key) is not None]
    return max(values) if values else None


def link_label(link):
    """The label on a line: state when not up, worst latency and loss of the two directions."""
    state = link_state(link)
    parts = [] if state == 'up' else [STATE_TEXT[state]]
    latency, loss = _worst(link, 'latency_ms'), _worst(link, 'loss_percent')
    if latency is not None:
        parts.append('%.1f ms' % latency)
    if loss is not None:
        parts.append('%g%% loss' % loss)
    return ' \u00b7 '.join(parts) or STATE_TEXT[state]


def link_description(link):
    """One sentence per link: the drawing's text alternative and each line's tooltip."""
    a, b = link['nodes']
    text = '%s to %s: %s' % (a, b, STATE_TEXT[link_state(link)])
    for node in (a, b):
        view = (link.get('directions') or {}).get(node) or {}
        figures = []
        if view.get('latency_ms') is not None:
            figures.append('%.1f ms' % view['latency_ms'])
        if view.get('loss_percent') is not None:
            figures.append('%g%% loss' % view['loss_percent'])
        if view.get('handshake_age') is not None:
            figures.append('handshake %ds ago' % view['handshake_age'])
        if figures:
            text += '; from %s %s' % (node, ', '.join(figures))
    if link.get('backhaul_server'):
        text += '; Backhaul server %s' % link['backhaul_server']
    why = list(link.get('problems') or ()) + list(link.get('warnings') or ())
    if why:
        text += ' (%s)' % '; '.join(why)
    return text + '.'


def node_lines(name, facts, is_hub):
    """The four lines of a node box: name, overlay address, LANs, flags."""
    lans = list(facts.get('lan_subnets') or ())
    lan = 'no LAN' if not lans else 'LAN %s%s' % (lans[0], ' +%d' % (len(lans) - 1) if len(lans) > 1 else '')
    flags = []
    if is_hub:
        flags.append('HUB')
    if facts.get('nat'):
        flags.append('NAT (no inbound)')
    if facts.get('reachable') is False:
        flags.append('not reached')
    return [_clip(name, NAME_CHARS), _clip(facts.get('address') or 'overlay address ?', TEXT_CHARS),
            _clip(lan, TEXT_CHARS), _clip(' \u00b7 '.join(flags), TEXT_CHARS)]


def node_description(name, facts, is_hub):
    text = '%s: overlay %s; LANs %s' % (name, facts.get('address') or 'unknown',
                                        ', '.join(facts.get('lan_subnets') or ()) or 'none')
    if is_hub:
        text += '; hub'
    if facts.get('nat'):
        text += '; NATed (accepts no inbound)'
    if facts.get('reachable') is False:
        text += '; could not be asked'
    return text + '.'


def _when(report):
    stamp = report.get('time')
    if isinstance(stamp, bool) or not isinstance(stamp, (int, float)):
        return 'at an unknown time'
    return time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(stamp))


def counts(links):
    found = dict((state, 0) for state in STATES)
    for link in links:
        found[link_state(link)] += 1
    return found


# --- drawing ---------------------------------------------------------------------------------

def _line_attrs(state, many):
    attrs = 'stroke="%s" stroke-width="%s"' % (STROKE[state], '1.2' if many and state == 'up' else '3')
    if DASH[state]:
        attrs += ' stroke-dasharray="%s"' % DASH[state]
    if many and state == 'up':
        attrs += ' stroke-opacity="0.55"'
    return attrs


def render_drawing(name, mesh, index):
    """The SVG of one mesh: links (up first, down last, so problems are on top), nodes, labels."""
    drawing = layout(mesh)
    nodes = mesh_nodes(mesh)
    names = [n for n, _facts in nodes]
    hub = mesh.get('hub') if mesh.get('topology') == 'hub-spoke' and mesh.get('hub') in names else None
    drawing['hub'] = hub
    links = sorted(mesh['links'], key=lambda link: (STATES.index(link_state(link)), sorted(link['nodes'])))
    many = len(links) > LABEL_ALL_MAX
    found = counts(links)
    title_id, desc_id = 'mesh-%d-title' % index, 'mesh-%d-desc' % index
    size = (drawing['width'], drawing['height'])
    out = ['<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="%s %s" width="%d" height="%d" '
           'viewBox="0 0 %d %d" font-family="%s">' % ((title_id, desc_id) + size + size + (_esc(FONT),))]
    out.append('<title id="%s">Topology of mesh %s: %d nodes, %d links, %d down, %d degraded</title>' % (
        title_id, _esc(name), len(nodes), len(links), found['down'], found['degraded']))
    desc = ['%s, %s.' % (mesh.get('topology') or 'topology unknown',
                         'hub %s' % hub if hub else 'every node linked to every other')]
    desc.extend(node_description(n, facts, n == hub) for n, facts in nodes)
    desc.extend(link_description(link) for link in links)
    out.append('<desc id="%s">%s</desc>' % (desc_id, _esc(' '.join(desc))))
    labels = []
    out.append('<g class="links" fill="none">')
    for link in links:
        lines, label = _draw_link(mesh, names, link, drawing, many)
        out.extend(lines)
        labels.extend(label)
    out.append('</g>')
    out.append('<g class="nodes">')
    for node, facts in nodes:
        out.extend(_draw_node(node, facts, node == hub, drawing['nodes'][node]))
    out.append('</g>')
    # Labels last: a long one may reach over a box border, it stays readable (white halo).
    out.append('<g class="labels">')
    out.extend(labels)
    out.append('</g>')
    out.append('</svg>')
    return '\n'.join(out)


def _draw_link(mesh, names, link, drawing, many):
    state = link_state(link)
    a, b = sorted(link['nodes'])
    pa, pb = drawing['nodes'][a], drawing['nodes'][b]
    x1, y1, ux, uy = _edge(pa, pb)
    x2, y2, _ux, _uy = _edge(pb, pa)
    out = ['<g class="link" data-link="%s" data-state="%s">' % (_esc(link_id(link)), state),
           '<title>%s</title>' % _esc(link_description(link)),
           '<line x1="%s" y1="%s" x2="%s" y2="%s" %s/>' % (
               _num(x1), _num(y1), _num(x2), _num(y2), _line_attrs(state, many))]
    server = link.get('backhaul_server')
    lx1, ly1, lx2, ly2 = x1, y1, x2, y2         # the stretch the label is centred on
    if server in (a, b) and (not many or state != 'up'):
        if server == a:
            lx1, ly1 = x1 + ux * 20, y1 + uy * 20
        else:
            lx2, ly2 = x2 - ux * 20, y2 - uy * 20
        sx, sy, sux, suy = (x1, y1, ux, uy) if server == a else (x2, y2, -ux, -uy)
        cx, cy = sx + sux * 10, sy + suy * 10
        out.append('<g class="server" data-server="%s"><circle cx="%s" cy="%s" r="8" fill="#ffffff" stroke="%s" '
                   'stroke-width="2"/><text x="%s" y="%s" text-anchor="middle" font-size="10" font-weight="bold" '
                   'fill="#1f2328" stroke="none">S</text></g>' % (
                       _esc(server), _num(cx), _num(cy), STROKE[state], _num(cx), _num(cy + 3.5)))
    label = []
    if not many or state != 'up':
        fraction = _label_fraction(mesh, names, link, drawing)
        lx, ly = lx1 + (lx2 - lx1) * fraction, ly1 + (ly2 - ly1) * fraction
        angle = math.degrees(math.atan2(y2 - y1, x2 - x1))
        if angle > 90:
            angle -= 180
        elif angle <= -90:
            angle += 180
        label.append('<text class="label" data-label-for="%s" x="%s" y="%s" dy="-4" text-anchor="middle" '
                     'font-size="11" fill="%s" stroke="#ffffff" stroke-width="4" stroke-linejoin="round" '
                     'paint-order="stroke" transform="rotate(%s %s %s)">%s</text>' % (
                         _esc(link_id(link)), _num(lx), _num(ly), '#1f2328' if state == 'up' else STROKE[state],
                         _num(angle), _num(lx), _num(ly), _esc(link_label(link))))
    out.append('</g>')
    return out, label


def _draw_node(name, facts, is_hub, centre):
    x, y = centre
    unreached = facts.get('reachable') is False
    stroke, width, fill = ('#0a3069', 3, '#ddf4ff') if is_hub else ('#57606a', 1.5, '#ffffff')
    dash = ''
    if unreached:
        stroke, fill, dash = '#cf222e', '#f6f8fa', ' stroke-dasharray="6 4"'
    out = ['<g class="node%s" data-node="%s"%s>' % (' hub' if is_hub else '', _esc(name),
                                                    ' data-hub="true"' if is_hub else ''),
           '<title>%s</title>' % _esc(node_description(name, facts, is_hub)),
           '<rect x="%s" y="%s" width="%d" height="%d" rx="8" fill="%s" stroke="%s" stroke-width="%s"%s/>' % (
               _num(x - BOX_W / 2.0), _num(y - BOX_H / 2.0), BOX_W, BOX_H, fill, stroke, width, dash)]
    top = y - BOX_H / 2.0 + 19
    for row, text in enumerate(node_lines(name, facts, is_hub)):
        if not text:
            continue
        style = ' font-size="14" font-weight="bold"' if row == 0 else ' font-size="12"'
        colour = '#cf222e' if row == 3 and unreached else '#0a3069' if row == 3 else '#1f2328'
        out.append('<text x="%s" y="%s" text-anchor="middle" fill="%s"%s>%s</text>' % (
            _num(x), _num(top + row * LINE_H), colour, style, _esc(text)))
    out.append('</g>')
    return out


# --- page ------------------------------------------------------------------------------------

def _legend():
    items = []
    for state in STATES:
        dash = ' stroke-dasharray="%s"' % DASH[state] if DASH[state] else ''
        items.append('<li><svg width="46" height="10" aria-hidden="true"><line x1="1" y1="5" x2="45" y2="5" '
                     'stroke="%s" stroke-width="3"%s/></svg>%s: %s</li>' % (
                         STROKE[state], dash, STATE_TEXT[state], LINE_STYLE_TEXT[state]))
    items.append('<li><svg width="20" height="20" aria-hidden="true"><circle cx="10" cy="10" r="8" fill="#fff" '
                 'stroke="#57606a" stroke-width="2"/><text x="10" y="13.5" text-anchor="middle" font-size="10" '
                 'font-weight="bold" font-family="%s">S</text></svg>Backhaul server end</li>' % _esc(FONT))
    items.append('<li><svg width="26" height="16" aria-hidden="true"><rect x="1.5" y="1.5" width="23" height="13" '
                 'rx="3" fill="#ddf4ff" stroke="#0a3069" stroke-width="3"/></svg>hub (HUB)</li>')
    items.append('<li><svg width="26" height="16" aria-hidden="true"><rect x="1.5" y="1.5" width="23" height="13" '
                 'rx="3" fill="#f6f8fa" stroke="#cf222e" stroke-width="1.5" stroke-dasharray="6 4"/></svg>'
                 'node not reached</li>')
    return '<ul class="legend">%s</ul>' % ''.join(items)


def _mtu_fact(mesh):
    """'MTU 1340 (auto)': the MTU on the interfaces (status.yml's smite.wgmesh.mesh_mtu_status), if known."""
    mtu = mesh.get('mtu')
    if not hasattr(mtu, 'get'):
        return None
    values = sorted(set(v for v in (mtu.get('interface_mtu') or {}).values() if v))
    shown = '/'.join(str(v) for v in values) or str(mtu.get('configured'))
    return 'MTU %s%s' % (shown, ' (auto)' if mtu.get('mode') == 'auto' else '')


def _traffic(mesh):
    traffic = mesh.get('traffic') or {}
    if not traffic.get('nodes_reporting'):
        return 'Traffic: no health agent reported totals.'
    return 'Traffic (health agent totals from %d of %d nodes): rx %s, tx %s.' % (
        traffic['nodes_reporting'], len(mesh_nodes(mesh)), _size(traffic.get('rx_bytes') or 0),
        _size(traffic.get('tx_bytes') or 0))


def _cell(value):
    return '-' if value is None or value == '' else _esc(value)


def render_table(name, mesh):
    """Both directions of every link, as in the text and Markdown tables, with the link's
    state (up, degraded, down) and why."""
    head = ''.join('<th scope="col">%s</th>' % _esc(h) for h in HEADERS[:-1])
    out = ['<div class="table-wrap"><table>',
           '<caption>Links of mesh %s, both directions</caption>' % _esc(name),
           '<thead><tr>%s<th scope="col">state</th><th scope="col">why</th></tr></thead><tbody>' % head]
    rows = iter(_rows(mesh))
    for link in mesh['links']:
        state = link_state(link)
        why = '; '.join(list(link.get('problems') or ()) + list(link.get('warnings') or ()))
        for position, node in enumerate(link['nodes']):
            row = list(next(rows))
            if link.get('backhaul_server') == node and row[7] is not None:
                row[7] = '%s (server)' % row[7]
            cells = ''.join('<td>%s</td>' % _cell(value) for value in row[:-1])
            extra = ('<td class="state" rowspan="2">%s</td><td class="why" rowspan="2">%s</td>' % (
                STATE_TEXT[state], _cell(why))) if position == 0 else ''
            out.append('<tr class="state-%s" data-row-link="%s" data-from="%s">%s%s</tr>' % (
                state, _esc(link_id(link)), _esc(node), cells, extra))
    out.append('</tbody></table></div>')
    return '\n'.join(out)


def _badge(found):
    if found['down']:
        return '<span class="badge bad">LINKS DOWN</span>'
    if found['degraded']:
        return '<span class="badge warn">DEGRADED</span>'
    return '<span class="badge ok">ALL UP</span>'


def links_text(links):
    """('N links, M down[, K degraded]', counts by state)."""
    found = counts(links)
    text = '%d link%s, %d down' % (len(links), '' if len(links) == 1 else 's', found['down'])
    if found['degraded']:
        text += ', %d degraded' % found['degraded']
    return text, found


def summary(report):
    """'N links, M down' (and degraded) over every mesh of the report."""
    return links_text([link for mesh in report['meshes'].values() for link in mesh['links']])


def render_page(report):
    """The whole page, as one string."""
    text, found = summary(report)
    when = _when(report)
    meshes = list(report['meshes'].items())
    out = ['<!DOCTYPE html>', '<html lang="en">', '<head>', '<meta charset="utf-8">',
           # Nothing may load from anywhere: no script, no remote style, font or image.
           '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
           'style-src \'unsafe-inline\'">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           '<meta name="generator" content="smite.wgmesh status.yml">',
           '<title>%s - smite.wgmesh status, %s</title>' % (_esc(text), _esc(when)),
           '<style>%s</style>' % CSS, '</head>', '<body>', '<header>',
           '<h1>smite.wgmesh status</h1>',
           '<p class="summary" data-links="%d" data-down="%d" data-degraded="%d">%s <strong>%s</strong> in %d '
           'mesh%s; report taken %s</p>' % (
               sum(found.values()), found['down'], found['degraded'], _badge(found), _esc(text), len(meshes),
               '' if len(meshes) == 1 else 'es', _esc(when)),
           _legend(), '</header>', '<main>']
    for index, (name, mesh) in enumerate(meshes):
        line, mesh_found = links_text(mesh['links'])
        facts = [mesh.get('interface'), mesh.get('topology'),
                 'hub %s' % mesh['hub'] if mesh.get('topology') == 'hub-spoke' and mesh.get('hub') else None,
                 'transport %s' % mesh['transport'] if mesh.get('transport') else None,
                 'overlay %s' % mesh['overlay_subnet'] if mesh.get('overlay_subnet') else None, _mtu_fact(mesh)]
        caption = 'Topology of mesh %s: %s. Line colour and style give each link\'s state (solid up, dash-dot ' \
                  'degraded, dashed down) and its label the worst latency and loss of its two directions' % (
                      name, line)
        if len(mesh['links']) > LABEL_ALL_MAX:
            caption += ' (%d links: labels and server marks only on links not up; every line\'s figures and ' \
                       'server are in its tooltip and the table)' % len(mesh['links'])
        caption += '; S marks the Backhaul server end.' if mesh.get('transport') == 'backhaul' else '.'
        out.extend([
            '<section class="mesh" id="mesh-%s" data-mesh="%s">' % (_esc(name), _esc(name)),
            '<h2>mesh %s <small>(%s)</small></h2>' % (_esc(name), _esc(', '.join(f for f in facts if f))),
            '<p class="mesh-summary">%s <strong>%s</strong></p>' % (_badge(mesh_found), _esc(line)),
            '<figure>', '<div class="drawing">', render_drawing(name, mesh, index), '</div>',
            '<figcaption>%s</figcaption>' % _esc(caption), '</figure>',
            render_table(name, mesh),
            '<p class="traffic">%s</p>' % _esc(_traffic(mesh)),
            '</section>'])
    if report.get('down'):
        out.append('<section class="down"><h2>Down</h2><ul class="down-list">%s</ul></section>' % ''.join(
            '<li>%s</li>' % _esc(line) for line in report['down']))
    out.extend(['</main>', '<footer>Written by smite.wgmesh <code>playbooks/status.yml</code> from the same report '
                'as status.json and status.md; report taken %s.</footer>' % _esc(when), '</body>', '</html>', ''])
    return '\n'.join(out)
