"""Clean a page image before OCR: flatten a photographed sheet, lift red seals off the print.

Two steps, each a pure function of an RGB array that returns a new array (never the input changed):

- `flatten_page`: a phone photo of a sheet lying on a desk shows the page as a bright quadrilateral on
  a darker surface. The page's outline is found (Otsu threshold of a small grey copy, the largest
  four-cornered contour) and warped to an upright rectangle whose sides are the quadrilateral's mean
  side lengths, so rows become straight and columns parallel again. Images where no such outline
  stands out, or where the sheet runs off the image (flat scans, crops to the page), come back unchanged.
- `lift_seals`: company seals (发票专用章, 业务专用章) are stamped in saturated red over the print. Blobs of
  that red of a seal's size (15-75 mm each side at the page's resolution) are found, and every reddish
  pixel inside their outline is set to the paper's colour; dark print under the seal stays dark. Brown
  pre-printed form text (VAT invoice labels) has another hue and survives; thin red rules or long red
  text runs are not seal-sized and are left alone.

`prepare_page` runs both and reports what it did in a `PageCleanup`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["PageCleanup", "flatten_page", "flat_to_received", "lift_seals", "prepare_page"]

_WORK_SIDE = 900            # px, long side of the copy the outline is searched on
_MIN_PAGE_SHARE = 0.30      # the sheet covers at least this share of the photo ...
_MAX_PAGE_SHARE = 0.97      # ... and leaves some desk around it
_MIN_CONTRAST = 35.0        # grey levels between sheet and desk
_BORDER_MARGIN = 0.01       # share of the long side a corner must keep from the image's edge
_SEAL_MM = (15.0, 75.0)     # a seal's bounding box, each side
_MM_PER_INCH = 25.4


@dataclass(frozen=True, slots=True)
class PageCleanup:
    """What `prepare_page` changed: the sheet's corners in the input (px, TL TR BR BL) or None, seals lifted."""

    corners: tuple[tuple[float, float], ...] | None
    seals: int


def prepare_page(rgb: np.ndarray, *, dpi: float) -> tuple[np.ndarray, PageCleanup]:
    """Flatten a photographed sheet, then lift red seals; see the module docstring."""
    flat, corners = flatten_page(rgb)
    clean, seals = lift_seals(flat, dpi=dpi)
    return clean, PageCleanup(corners=corners, seals=seals)


# ---------------------------------------------------------------- flattening


def flatten_page(rgb: np.ndarray) -> tuple[np.ndarray, tuple[tuple[float, float], ...] | None]:
    """The sheet warped to a rectangle and its corners, or (rgb, None) when no sheet outline stands out."""
    quad = _sheet_outline(rgb)
    if quad is None:
        return rgb, None
    tl, tr, br, bl = quad
    width = int(round((np.linalg.norm(tr - tl) + np.linalg.norm(br - bl)) / 2))
    height = int(round((np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2))
    target = np.float32([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]])
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    flat = cv2.warpPerspective(rgb, matrix, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
    return flat, tuple((float(x), float(y)) for x, y in quad)


def flat_to_received(corners: tuple[tuple[float, float], ...], flat_size: tuple[int, int]) -> tuple[float, ...]:
    """The 3x3 homography (row-major) taking a point of the flattened sheet (`flatten_page`'s output of
    `flat_size` = (width, height) px) back to the image as received; both in continuous pixel coordinates
    (a pixel's centre at +0.5), while OpenCV's warp works on pixel indices."""
    width, height = flat_size
    target = np.float32([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]])
    back = cv2.getPerspectiveTransform(target, np.float32(corners)).astype(np.float64)
    shift = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]])
    unshift = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]])
    return tuple(float(v) for v in (shift @ back @ unshift).ravel())


def _sheet_outline(rgb: np.ndarray) -> np.ndarray | None:
    """The sheet's four corners (TL, TR, BR, BL) in `rgb` pixels, or None."""
    height, width = rgb.shape[:2]
    scale = min(1.0, _WORK_SIDE / max(height, width))
    small = cv2.resize(rgb, (max(8, int(width * scale)), max(8, int(height * scale))),
                       interpolation=cv2.INTER_AREA)
    grey = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (7, 7), 0)
    _, mask = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    sheet = max(contours, key=cv2.contourArea)
    share = cv2.contourArea(sheet) / float(small.shape[0] * small.shape[1])
    if not _MIN_PAGE_SHARE <= share <= _MAX_PAGE_SHARE:
        return None
    quad = _four_corners(sheet)
    if quad is None or _touches_border(quad, small.shape) or not _stands_out(grey, quad):
        return None
    return _ordered(quad / scale)


def _touches_border(quad: np.ndarray, shape: tuple[int, ...]) -> bool:
    """A corner on the image's edge: the sheet is cut off (a crop or a close-up), its outline unknown."""
    height, width = shape[:2]
    margin = _BORDER_MARGIN * max(height, width)
    xs, ys = quad[:, 0], quad[:, 1]
    return bool((xs < margin).any() or (xs > width - 1 - margin).any()
                or (ys < margin).any() or (ys > height - 1 - margin).any())


def _four_corners(contour: np.ndarray) -> np.ndarray | None:
    hull = cv2.convexHull(contour)
    perimeter = cv2.arcLength(hull, True)
    for tolerance in (0.01, 0.02, 0.03, 0.05):
        approx = cv2.approxPolyDP(hull, tolerance * perimeter, True)
        if len(approx) == 4:
            return approx.reshape(4, 2).astype(np.float64)
    return None


def _stands_out(grey: np.ndarray, quad: np.ndarray) -> bool:
    """The sheet is clearly brighter than what surrounds it (not a dark table or a shadow edge)."""
    inside = np.zeros(grey.shape, np.uint8)
    cv2.fillConvexPoly(inside, quad.astype(np.int32), 1)
    ring = cv2.dilate(inside, np.ones((25, 25), np.uint8)) - inside
    if not ring.any() or not inside.any():
        return False
    return float(np.median(grey[inside > 0])) - float(np.median(grey[ring > 0])) >= _MIN_CONTRAST


def _ordered(quad: np.ndarray) -> np.ndarray:
    """Corners as TL, TR, BR, BL."""
    total, diff = quad.sum(axis=1), quad[:, 1] - quad[:, 0]
    return np.array([quad[np.argmin(total)], quad[np.argmin(diff)],
                     quad[np.argmax(total)], quad[np.argmax(diff)]], np.float64)


# ---------------------------------------------------------------- seals


def seal_red_mask(rgb: np.ndarray, *, min_saturation: int = 70) -> np.ndarray:
    """Pixels of seal red (hue within ~16 degrees of red, coloured enough, not dark print)."""
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    red = (hue <= 8) | (hue >= 172)
    return red & (sat >= min_saturation) & (val >= 90)


def lift_seals(rgb: np.ndarray, *, dpi: float) -> tuple[np.ndarray, int]:
    """Seal red inside seal-sized blobs set to the paper colour; returns (image, seals lifted)."""
    red = seal_red_mask(rgb)
    if red.sum() < 200:
        return rgb, 0
    px_per_mm = dpi / _MM_PER_INCH
    reach = max(3, int(2.5 * px_per_mm)) | 1
    blobs = cv2.dilate(red.astype(np.uint8), np.ones((reach, reach), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(blobs, connectivity=8)
    low, high = (side * px_per_mm for side in _SEAL_MM)
    seals = [i for i in range(1, count)
             if low <= stats[i, cv2.CC_STAT_WIDTH] <= high and low <= stats[i, cv2.CC_STAT_HEIGHT] <= high]
    if not seals:
        return rgb, 0
    # everything red inside a seal's outline goes (the text in its middle is not joined to the ring),
    # its faint edges too (ink thinning out, JPEG smearing the colour)
    inside = np.zeros(red.shape, bool)
    for i in seals:
        x, y, w, h = (int(v) for v in stats[i, :4])
        inside[y:y + h, x:x + w] = True
    lift = seal_red_mask(rgb, min_saturation=30) & inside
    paper = np.median(rgb[~red].reshape(-1, 3), axis=0) if (~red).any() else np.array([255, 255, 255])
    out = rgb.copy()
    out[lift] = paper.astype(np.uint8)
    return out, len(seals)
