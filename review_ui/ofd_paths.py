"""OFD path geometry: AbbreviatedData (GB/T 33190 9.3) as lists of points, curves and arcs cut into straight
pieces, for review_ui.ofd_render to draw.  Pure arithmetic on the numbers the file gives; bounded by `limit`."""

from __future__ import annotations

import math

from extractors.ofd.package import parse_floats

MAX_PATH_POINTS = 20_000             # after curves are cut into straight pieces
_CURVE_STEPS = 12
_ARGS = {"M": 2, "S": 2, "L": 2, "Q": 4, "B": 6, "A": 7, "C": 0, "Z": 0}     # AbbreviatedData operators


def path_points(data: str, *, limit: int = MAX_PATH_POINTS) -> list[tuple[list[tuple[float, float]], bool]]:
    """AbbreviatedData -> subpaths: (points in object space, closed?); curves and arcs cut into straight pieces.

    Operators S/M x y (start), L x y, Q x1 y1 x y, B x1 y1 x2 y2 x y, A rx ry angle large sweep x y (as SVG's),
    C or Z (close). Numbers without an operator repeat the last one; anything unreadable ends the path.
    At most `limit` points in all.
    """
    tokens, i, op = data.split(), 0, "M"
    subpaths: list[tuple[list[tuple[float, float]], bool]] = []
    points: list[tuple[float, float]] = []
    count = 0
    while i < len(tokens) and count < limit:
        if tokens[i].upper() in _ARGS:
            op, i = tokens[i].upper(), i + 1
        args = parse_floats(" ".join(tokens[i:i + _ARGS[op]]))
        if len(args) < _ARGS[op]:
            break
        i += _ARGS[op]
        if op in "CZ":
            if points:
                subpaths.append((points, True))
                points = [points[0]]
            op = "L"          # numbers straight after a close draw on from the closed subpath's start
            continue
        if op in "MS" or not points:
            if len(points) > 1:
                subpaths.append((points, False))
            points = [(args[-2], args[-1])]
        else:
            points += _segment(op, points[-1], args)
        count += 1 if op in "MSL" else _CURVE_STEPS
    if len(points) > 1:
        subpaths.append((points, False))
    return subpaths


def _segment(op: str, start: tuple[float, float], args: list[float]) -> list[tuple[float, float]]:
    """The points after `start` of one L/Q/B/A segment."""
    if op == "L":
        return [(args[0], args[1])]
    steps = [k / _CURVE_STEPS for k in range(1, _CURVE_STEPS + 1)]
    (x0, y0) = start
    if op == "Q":
        x1, y1, x2, y2 = args
        return [((1 - t) ** 2 * x0 + 2 * (1 - t) * t * x1 + t * t * x2,
                 (1 - t) ** 2 * y0 + 2 * (1 - t) * t * y1 + t * t * y2) for t in steps]
    if op == "B":
        x1, y1, x2, y2, x3, y3 = args
        return [((1 - t) ** 3 * x0 + 3 * (1 - t) ** 2 * t * x1 + 3 * (1 - t) * t * t * x2 + t ** 3 * x3,
                 (1 - t) ** 3 * y0 + 3 * (1 - t) ** 2 * t * y1 + 3 * (1 - t) * t * t * y2 + t ** 3 * y3)
                for t in steps]
    return _arc(start, args, steps)


def _arc(start: tuple[float, float], args: list[float], steps: list[float]) -> list[tuple[float, float]]:
    """An elliptical arc by SVG's endpoint rules (a radius too small is scaled up, as SVG does)."""
    rx, ry, angle, large, sweep, x, y = args
    (x0, y0), phi = start, math.radians(angle)
    rx, ry = abs(rx), abs(ry)
    if rx == 0 or ry == 0 or (x0, y0) == (x, y):
        return [(x, y)]
    cos, sin = math.cos(phi), math.sin(phi)
    dx, dy = (x0 - x) / 2, (y0 - y) / 2
    x1, y1 = cos * dx + sin * dy, -sin * dx + cos * dy
    grow = x1 * x1 / (rx * rx) + y1 * y1 / (ry * ry)
    if grow > 1:
        rx, ry = rx * math.sqrt(grow), ry * math.sqrt(grow)
    num = rx * rx * ry * ry - rx * rx * y1 * y1 - ry * ry * x1 * x1
    root = math.sqrt(max(0.0, num) / (rx * rx * y1 * y1 + ry * ry * x1 * x1))
    root = -root if bool(large) == bool(sweep) else root
    cx1, cy1 = root * rx * y1 / ry, -root * ry * x1 / rx
    cx, cy = cos * cx1 - sin * cy1 + (x0 + x) / 2, sin * cx1 + cos * cy1 + (y0 + y) / 2
    a0 = math.atan2((y1 - cy1) / ry, (x1 - cx1) / rx)
    a1 = math.atan2((-y1 - cy1) / ry, (-x1 - cx1) / rx)
    delta = a1 - a0
    if sweep and delta < 0:
        delta += 2 * math.pi
    elif not sweep and delta > 0:
        delta -= 2 * math.pi
    return [(cx + rx * math.cos(a0 + t * delta) * cos - ry * math.sin(a0 + t * delta) * sin,
             cy + rx * math.cos(a0 + t * delta) * sin + ry * math.sin(a0 + t * delta) * cos) for t in steps]
