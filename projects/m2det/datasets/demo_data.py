"""Deterministic synthetic shapes dataset in COCO format.

The dataset is small enough to train and evaluate a detector on a laptop CPU
yet exercises what a detector has to cope with: five shape classes whose
colours carry no class information, sizes from about 11 px to about two
thirds of the image side, aspect ratios from 1:3 to 3:1, occlusion, cluttered
backgrounds and images without objects.

Every image is drawn from its own random generator seeded with
``(seed, split, index)``, so the output is byte-identical for identical
arguments and independent of how many images are generated before it.

Example:
    >>> from projects.m2det.datasets import generate_demo_dataset
    >>> summary = generate_demo_dataset('data/demo', num_train=3000,
    ...                                 num_val=100, seed=0)
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np

DEMO_CLASSES: tuple[str, ...] = ('ellipse', 'rectangle', 'triangle', 'cross',
                                 'ring')

_SPLITS: tuple[str, ...] = ('train', 'val')
# Supersampling factor used to rasterise shapes; area-downsampling the
# supersampled mask gives anti-aliased edges without depending on cv2's
# LINE_AA implementation for filled polygons.
_SUPERSAMPLE = 4
# A pixel belongs to an object when its coverage is at least half.
_OWN_THRESHOLD = 128
_MIN_LONG_SIDE = 11
# Thin crosses and rings lose their holes and arms, so they stay thicker.
_MIN_SHORT_SIDE = {
    'ellipse': 9,
    'rectangle': 9,
    'triangle': 9,
    'cross': 12,
    'ring': 11
}
_MAX_ASPECT = 3.0
_MAX_ROTATION_DEG = 15.0
# Chance that a shape is placed next to an existing one rather than anywhere,
# so that overlaps are common enough to matter.
_NEAR_PROB = 0.35
# Minimum Euclidean BGR distance wanted between an object and whatever lies
# under it, so that visible boxes are well defined.
_MIN_COLOUR_DISTANCE = 120.0


def generate_demo_dataset(out_dir: str | Path,
                          num_train: int = 3000,
                          num_val: int = 100,
                          seed: int = 0,
                          *,
                          min_image_side: int = 160,
                          max_image_side: int = 240,
                          max_objects: int = 6,
                          empty_ratio: float = 0.07,
                          max_object_ratio: float = 0.68,
                          min_visible: float = 0.45,
                          jpeg_quality: int = 90) -> dict[str, Any]:
    """Generate the synthetic shapes dataset in COCO format.

    Writes ``out_dir/{train,val}/NNNNNN.jpg`` and
    ``out_dir/annotations/{train,val}.json``. Existing files with the same
    names are overwritten; other files are left alone.

    Args:
        out_dir: Root directory of the dataset; created if missing.
        num_train: Number of training images.
        num_val: Number of validation images.
        seed: Non-negative seed; identical arguments give byte-identical
            files, different seeds give different data.
        min_image_side: Smallest image width or height in pixels.
        max_image_side: Largest image width or height in pixels.
        max_objects: Largest number of objects in one image.
        empty_ratio: Fraction of images per split that contain no object.
            When positive, every non-empty split gets at least one empty
            image.
        max_object_ratio: Largest object side relative to the shorter image
            side.
        min_visible: Smallest fraction of an object's pixels that must stay
            visible after later objects are drawn over it; placements that
            would hide more are rejected, so every drawn object is annotated.
        jpeg_quality: JPEG quality passed to OpenCV.

    Returns:
        A summary with ``out_dir``, ``classes`` and, under ``splits``, for
        each split its ``img_dir``, ``ann_file`` and the ``images``,
        ``annotations`` and ``empty_images`` counts.

    Raises:
        ValueError: If an argument is out of range.
    """
    if seed < 0:
        raise ValueError(f'seed must be non-negative, got {seed}')
    if num_train < 0 or num_val < 0:
        raise ValueError('image counts must be non-negative')
    if not 0 < min_image_side <= max_image_side:
        raise ValueError('need 0 < min_image_side <= max_image_side')
    if max_object_ratio * min_image_side < max(_MIN_LONG_SIDE,
                                               *_MIN_SHORT_SIDE.values()):
        raise ValueError('images are too small for the smallest objects')
    if not 0.0 <= empty_ratio <= 1.0:
        raise ValueError('empty_ratio must lie in [0, 1]')

    root = Path(out_dir)
    (root / 'annotations').mkdir(parents=True, exist_ok=True)
    categories = [{
        'id': i + 1,
        'name': name,
        'supercategory': 'shape'
    } for i, name in enumerate(DEMO_CLASSES)]
    summary: dict[str, Any] = {
        'out_dir': str(root),
        'classes': list(DEMO_CLASSES),
        'splits': {}
    }
    for split_id, (split, count) in enumerate(zip(_SPLITS,
                                                  (num_train, num_val))):
        img_dir = root / split
        img_dir.mkdir(parents=True, exist_ok=True)
        empty = _choose_empty(count, empty_ratio, seed, split_id)
        images: list[dict[str, Any]] = []
        annotations: list[dict[str, Any]] = []
        for index in range(count):
            rng = np.random.default_rng([seed, split_id, index])
            width, height = (int(v) for v in rng.integers(
                min_image_side, max_image_side + 1, size=2))
            num_objects = 0 if index in empty else int(
                rng.integers(1, max_objects + 1))
            image, boxes = _render_image(rng, width, height, num_objects,
                                         max_object_ratio, min_visible)
            file_name = f'{index:06d}.jpg'
            ok, encoded = cv2.imencode(
                '.jpg', image, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
            if not ok:
                raise RuntimeError(f'could not encode {file_name}')
            (img_dir / file_name).write_bytes(encoded.tobytes())
            image_id = index + 1
            images.append({
                'id': image_id,
                'file_name': file_name,
                'width': width,
                'height': height
            })
            for label, (x, y, w, h) in boxes:
                annotations.append({
                    'id': len(annotations) + 1,
                    'image_id': image_id,
                    'category_id': label + 1,
                    'bbox': [x, y, w, h],
                    'area': w * h,
                    'iscrowd': 0
                })
        ann_file = root / 'annotations' / f'{split}.json'
        coco = {
            'info': {
                'description': 'M2Det synthetic shapes demo dataset',
                'version': '1.0'
            },
            'licenses': [],
            'images': images,
            'annotations': annotations,
            'categories': categories
        }
        ann_file.write_text(
            json.dumps(coco, sort_keys=True, separators=(',', ':')) + '\n')
        annotated = {ann['image_id'] for ann in annotations}
        summary['splits'][split] = {
            'img_dir': str(img_dir),
            'ann_file': str(ann_file),
            'images': len(images),
            'annotations': len(annotations),
            'empty_images': len(images) - len(annotated)
        }
    return summary


def _choose_empty(count: int, ratio: float, seed: int,
                  split_id: int) -> set[int]:
    """Pick which image indices of a split hold no objects.

    A fixed number of empty images (rather than a per-image coin flip)
    guarantees that even small splits contain some.

    Args:
        count: Number of images in the split.
        ratio: Wanted fraction of empty images.
        seed: Dataset seed.
        split_id: Index of the split in ``_SPLITS``.

    Returns:
        The indices of the empty images.
    """
    if count == 0 or ratio == 0.0:
        return set()
    num_empty = min(count, max(1, round(ratio * count)))
    rng = np.random.default_rng([seed, split_id])
    return {int(i) for i in rng.choice(count, size=num_empty, replace=False)}


def _render_image(rng: np.random.Generator, width: int, height: int,
                  num_objects: int, max_object_ratio: float,
                  min_visible: float
                  ) -> tuple[np.ndarray, list[tuple[int, tuple[int, ...]]]]:
    """Draw one image and return it with its visible boxes.

    Args:
        rng: Generator owned by this image.
        width: Image width in pixels.
        height: Image height in pixels.
        num_objects: Number of objects to try to place.
        max_object_ratio: Largest object side relative to the shorter image
            side.
        min_visible: Smallest visible fraction allowed for any object.

    Returns:
        The BGR ``uint8`` image and a list of ``(label, (x, y, w, h))`` with
        0-based labels and tight boxes of the visible pixels.
    """
    canvas = _background(rng, width, height)
    # owner[y, x] is the index of the object that covers the pixel, -1 for
    # background; it tells what is visible after occlusion.
    owner = np.full((height, width), -1, dtype=np.int32)
    objects: list[dict[str, Any]] = []
    max_long = max_object_ratio * min(width, height)
    for _ in range(num_objects * 8):
        if len(objects) == num_objects:
            break
        label = int(rng.integers(len(DEMO_CLASSES)))
        alpha = _shape_alpha(rng, label, max_long)
        placed = _try_place(rng, alpha, owner, objects, min_visible)
        if placed is None:
            continue
        x, y = placed
        h, w = alpha.shape
        region = (slice(y, y + h), slice(x, x + w))
        mask = alpha >= _OWN_THRESHOLD
        colour = _pick_colour(rng, canvas[region], owner[region], mask,
                              objects)
        _composite(rng, canvas, region, alpha, colour)
        covered = owner[region][mask]
        hidden = np.bincount(covered[covered >= 0], minlength=len(objects))
        for obj, lost in zip(objects, hidden):
            obj['visible'] -= int(lost)
        owner[region][mask] = len(objects)
        full = int(np.count_nonzero(mask))
        objects.append({
            'label': label,
            'region': region,
            'colour': colour,
            'full': full,
            'visible': full
        })

    noise = rng.normal(0.0, rng.uniform(2.0, 6.0), size=canvas.shape)
    image = np.clip(canvas + noise, 0, 255).astype(np.uint8)

    boxes = []
    for i, obj in enumerate(objects):
        ys, xs = np.nonzero(owner[obj['region']] == i)
        y0 = obj['region'][0].start + int(ys.min())
        x0 = obj['region'][1].start + int(xs.min())
        boxes.append((obj['label'], (x0, y0, int(xs.max() - xs.min()) + 1,
                                     int(ys.max() - ys.min()) + 1)))
    return image, boxes


def _background(rng: np.random.Generator, width: int,
                height: int) -> np.ndarray:
    """Draw a cluttered background as a float32 BGR image.

    The clutter (a colour gradient, low-frequency blotches, optional stripes,
    thin straight and wiggly lines and small dots) is chosen to look unlike
    every object class: lines are at most 2 px wide and dots are at most
    5 px across, well below the smallest object.

    Args:
        rng: Generator owned by the image.
        width: Image width in pixels.
        height: Image height in pixels.

    Returns:
        A ``(height, width, 3)`` float32 array with values in [0, 255].
    """
    base = rng.uniform(30, 225, size=3)
    delta = rng.uniform(-60, 60, size=3)
    angle = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (xx * math.cos(angle) + yy * math.sin(angle))
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1.0)
    canvas = base + ramp[..., None] * delta

    grid = rng.uniform(-25, 25, size=(int(rng.integers(3, 9)),
                                      int(rng.integers(3, 9)), 3))
    canvas += cv2.resize(
        grid.astype(np.float32), (width, height),
        interpolation=cv2.INTER_CUBIC)
    if rng.random() < 0.3:
        period = rng.uniform(6, 20)
        phase = rng.uniform(0, 2 * math.pi)
        stripes = np.sin(2 * math.pi * (xx * math.cos(angle + 1.0) + yy *
                                        math.sin(angle + 1.0)) / period +
                         phase)
        canvas += (rng.uniform(6, 15) * stripes)[..., None]
    canvas = np.clip(canvas, 0, 255).astype(np.float32)

    for _ in range(int(rng.integers(2, 11))):
        p0 = (int(rng.integers(width)), int(rng.integers(height)))
        p1 = (int(rng.integers(width)), int(rng.integers(height)))
        cv2.line(canvas, p0, p1, _random_colour(rng), int(rng.integers(1, 3)),
                 cv2.LINE_AA)
    for _ in range(int(rng.integers(0, 4))):
        steps = rng.normal(0, 8, size=(int(rng.integers(5, 20)), 2))
        start = rng.uniform((0, 0), (width, height))
        points = np.round(start + np.cumsum(steps, axis=0)).astype(np.int32)
        cv2.polylines(canvas, [points], False, _random_colour(rng), 1,
                      cv2.LINE_AA)
    for _ in range(int(rng.integers(0, 41))):
        centre = (int(rng.integers(width)), int(rng.integers(height)))
        cv2.circle(canvas, centre, int(rng.integers(1, 3)),
                   _random_colour(rng), -1, cv2.LINE_AA)
    return canvas


def _random_colour(rng: np.random.Generator) -> tuple[float, float, float]:
    """Return a uniformly random BGR colour."""
    b, g, r = rng.uniform(0, 255, size=3)
    return float(b), float(g), float(r)


def _shape_alpha(rng: np.random.Generator, label: int,
                 max_long: float) -> np.ndarray:
    """Rasterise a random instance of a class as an anti-aliased mask.

    Args:
        rng: Generator owned by the image.
        label: 0-based class index into :data:`DEMO_CLASSES`.
        max_long: Largest allowed long side of the unrotated shape.

    Returns:
        A ``uint8`` coverage mask (0-255) cropped to the shape.
    """
    # Sizes and aspect ratios are spread over log scales; the size is tilted
    # a little towards large objects because tiny ones are the slowest to
    # learn on a CPU budget. The random swap makes tall as common as wide.
    name = DEMO_CLASSES[label]
    min_long = max(_MIN_LONG_SIDE, _MIN_SHORT_SIDE[name])
    long_side = min_long * (max_long / min_long)**(rng.uniform()**0.75)
    max_aspect = min(_MAX_ASPECT, long_side / _MIN_SHORT_SIDE[name])
    aspect = math.exp(rng.uniform(0.0, math.log(max_aspect)))
    w, h = long_side, long_side / aspect
    if rng.random() < 0.5:
        w, h = h, w
    rotation = math.radians(rng.uniform(-_MAX_ROTATION_DEG, _MAX_ROTATION_DEG))

    # Polygons in a unit box centred at the origin, each with the value it
    # is filled with; later polygons overwrite earlier ones (ring holes).
    if name == 'ellipse':
        polygons = [(_ellipse(0.5, 0.5), 255)]
    elif name == 'ring':
        # Constant band width, so stretched rings stay rings.
        band = rng.uniform(0.35, 0.55) * 0.5 * min(w, h)
        polygons = [(_ellipse(0.5, 0.5), 255),
                    (_ellipse(0.5 - band / w, 0.5 - band / h), 0)]
    elif name == 'rectangle':
        polygons = [(np.array([[-.5, -.5], [.5, -.5], [.5, .5], [-.5, .5]]),
                     255)]
    elif name == 'triangle':
        apex = rng.uniform(-0.35, 0.35)
        polygons = [(np.array([[apex, -.5], [.5, .5], [-.5, .5]]), 255)]
        # Point the apex up, right, down or left; swapping the sides keeps
        # the sampled width and height after a quarter turn.
        quarter = int(rng.integers(4))
        rotation += quarter * math.pi / 2
        if quarter % 2:
            w, h = h, w
    else:  # cross
        # Both arms equally thick, so stretched crosses keep visible arms.
        arm = rng.uniform(0.25, 0.4) * min(w, h)
        tx, ty = arm / (2 * w), arm / (2 * h)
        polygons = [(np.array([[-tx, -.5], [tx, -.5], [tx, -ty], [.5, -ty],
                               [.5, ty], [tx, ty], [tx, .5], [-tx, .5],
                               [-tx, ty], [-.5, ty], [-.5, -ty], [-tx, -ty]]),
                     255)]

    cos, sin = math.cos(rotation), math.sin(rotation)
    transform = np.array([[w * cos, -h * sin], [w * sin, h * cos]])
    half_w = 0.5 * (abs(w * cos) + abs(h * sin))
    half_h = 0.5 * (abs(w * sin) + abs(h * cos))
    size = (math.ceil(2 * half_w) + 2, math.ceil(2 * half_h) + 2)
    centre = np.array(size) / 2
    canvas = np.zeros((size[1] * _SUPERSAMPLE, size[0] * _SUPERSAMPLE),
                      dtype=np.uint8)
    for points, value in polygons:
        pixels = (points @ transform.T + centre) * _SUPERSAMPLE
        cv2.fillPoly(canvas, [np.round(pixels).astype(np.int32)], value)
    alpha = cv2.resize(canvas, size, interpolation=cv2.INTER_AREA)
    ys, xs = np.nonzero(alpha)
    return alpha[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def _ellipse(radius_x: float, radius_y: float,
             num_points: int = 96) -> np.ndarray:
    """Return a polygon approximating an origin-centred, axis-aligned ellipse.

    Args:
        radius_x: Semi-axis along x.
        radius_y: Semi-axis along y.
        num_points: Number of polygon vertices.

    Returns:
        A ``(num_points, 2)`` array of ``(x, y)`` vertices.
    """
    theta = np.linspace(0, 2 * math.pi, num_points, endpoint=False)
    return np.stack([radius_x * np.cos(theta), radius_y * np.sin(theta)],
                    axis=1)


def _try_place(rng: np.random.Generator, alpha: np.ndarray, owner: np.ndarray,
               objects: list[dict[str, Any]],
               min_visible: float) -> tuple[int, int] | None:
    """Choose a top-left position for a shape.

    With probability ``_NEAR_PROB`` the shape is put next to an existing
    object instead of anywhere in the image.

    Args:
        rng: Generator owned by the image.
        alpha: Coverage mask of the shape.
        owner: Owner map of the image (-1 for background).
        objects: Objects placed so far.
        min_visible: Smallest visible fraction allowed for any object.

    Returns:
        The ``(x, y)`` top-left corner, or ``None`` if the shape does not fit
        or would leave an earlier object less than ``min_visible`` visible.
    """
    img_h, img_w = owner.shape
    h, w = alpha.shape
    if w > img_w or h > img_h:
        return None
    if objects and rng.random() < _NEAR_PROB:
        target = objects[int(rng.integers(len(objects)))]['region']
        t_h = target[0].stop - target[0].start
        t_w = target[1].stop - target[1].start
        cx = (target[1].start + target[1].stop) / 2 + rng.uniform(
            -0.5, 0.5) * (t_w + w)
        cy = (target[0].start + target[0].stop) / 2 + rng.uniform(
            -0.5, 0.5) * (t_h + h)
        x = int(np.clip(round(cx - w / 2), 0, img_w - w))
        y = int(np.clip(round(cy - h / 2), 0, img_h - h))
    else:
        x = int(rng.integers(img_w - w + 1))
        y = int(rng.integers(img_h - h + 1))
    covered = owner[y:y + h, x:x + w][alpha >= _OWN_THRESHOLD]
    hidden = np.bincount(covered[covered >= 0], minlength=len(objects))
    for obj, lost in zip(objects, hidden):
        if obj['visible'] - lost < min_visible * obj['full']:
            return None
    return x, y


def _pick_colour(rng: np.random.Generator, under: np.ndarray,
                 under_owner: np.ndarray, mask: np.ndarray,
                 objects: list[dict[str, Any]]) -> np.ndarray:
    """Pick a random object colour that stands out from what it covers.

    Colours are uniformly random so they say nothing about the class; among
    a few candidates the first one far enough from the background and from
    every covered object is taken (the most distant one if none is).

    Args:
        rng: Generator owned by the image.
        under: Float BGR canvas crop under the shape.
        under_owner: Owner map crop under the shape.
        mask: Pixels of the crop that the shape will own.
        objects: Objects placed so far.

    Returns:
        The BGR colour as a float array of shape ``(3,)``.
    """
    owners = under_owner[mask]
    references = [objects[i]['colour'] for i in np.unique(owners) if i >= 0]
    if np.any(owners < 0):
        references.append(under[mask][owners < 0].mean(axis=0))
    best, best_distance = None, -1.0
    for _ in range(50):
        colour = rng.uniform(0, 255, size=3)
        distance = min(float(np.linalg.norm(colour - ref))
                       for ref in references)
        if distance > best_distance:
            best, best_distance = colour, distance
        if distance >= _MIN_COLOUR_DISTANCE:
            break
    return best


def _composite(rng: np.random.Generator, canvas: np.ndarray,
               region: tuple[slice, slice], alpha: np.ndarray,
               colour: np.ndarray) -> None:
    """Alpha-blend a shape filled with ``colour`` into ``canvas`` in place.

    A faint linear shading keeps the fill from being perfectly flat.

    Args:
        rng: Generator owned by the image.
        canvas: Float BGR image, modified in place.
        region: ``(rows, cols)`` slices where the mask is pasted.
        alpha: Coverage mask of the shape, the size of ``region``.
        colour: BGR fill colour.
    """
    h, w = alpha.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    gx, gy = rng.uniform(-15, 15, size=2)
    shade = gx * (xx / max(w - 1, 1) - 0.5) + gy * (yy / max(h - 1, 1) - 0.5)
    fill = colour.astype(np.float32) + shade[..., None]
    a = (alpha.astype(np.float32) / 255)[..., None]
    canvas[region] = canvas[region] * (1 - a) + fill * a
