"""M2Det's training augmentation, as the official code (``data_augment.py``)
does it.

The official chain, in order: :class:`M2DetRandomCrop`,
:class:`M2DetPhotoMetricDistortion`, :class:`M2DetExpand`, mmdet's
``RandomFlip`` (the same flip), :class:`FilterSmallBoxes`, then
:class:`RandomInterpResize` to the square input. mmdet's SSD transforms are
subclassed where they differ; each class says how.

Images without boxes: the official code skips the whole augmentation for
them and only resizes. Here the crop passes them through unchanged (its IoU
rule needs a box), while distortion, expansion and flip, which need no box,
apply to them as to any image. The official code also replaces a sample
whose boxes all fall to the small-box filter by its unaugmented original;
here such a sample stays augmented with no boxes, a background image, as
``filter_empty_gt=False`` keeps them anyway.
"""
import math
from numbers import Number
from typing import Sequence, Tuple, Union

import mmcv
import numpy as np
from mmcv.image.geometric import cv2_interp_codes
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmdet.datasets.transforms import (Expand, MinIoURandomCrop,
                                       PhotoMetricDistortion, Resize)
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import HorizontalBoxes, autocast_box_type
from numpy import random

# the official list, drawn from uniformly (data_augment.preproc_for_test)
OFFICIAL_INTERPOLATIONS = ('bilinear', 'bicubic', 'area', 'nearest',
                           'lanczos')


def _check_aspect_range(aspect_ratio_range: Sequence[float]) -> None:
    low, high = aspect_ratio_range
    if not 0 < low <= 1 <= high:
        raise ValueError(
            'aspect_ratio_range must satisfy 0 < low <= 1 <= high (the '
            f'unjittered shape must be possible), got {aspect_ratio_range}')


def _random_aspect(scale: float, aspect_ratio_range: Sequence[float]) -> float:
    """The official aspect jitter for side scale ``s``: the square root of a
    ratio drawn in ``aspect_ratio_range`` narrowed to ``[1/b, b]`` with
    ``b = max(s, 1/s)^2``, so that sides ``s * a`` and ``s / a`` stay at most
    the image's for a crop (``s <= 1``) and at least for a canvas
    (``s >= 1``)."""
    low, high = aspect_ratio_range
    bound = max(scale, 1 / scale)**2
    return math.sqrt(random.uniform(max(low, 1 / bound), min(high, bound)))


def _clip_to_uint8(img: np.ndarray,
                   alpha: float = 1.,
                   beta: float = 0.) -> np.ndarray:
    """``img * alpha + beta`` clipped to [0, 255] and truncated to uint8, as
    the official code writes each step back into its uint8 image."""
    return np.clip(img * np.float32(alpha) + np.float32(beta), 0,
                   255).astype(np.uint8)


@TRANSFORMS.register_module()
class M2DetRandomCrop(MinIoURandomCrop):
    """SSD's random crop, with the crop shape sampled as the official M2Det.

    A mode is drawn uniformly from: keep the image, each minimum IoU of
    ``min_ious``, or any crop. Up to 50 crops are then tried: side scale
    ``s ~ U(min_crop_size, 1)`` (the crop has ``s^2`` of the image's area),
    aspect jitter ``a`` from ``aspect_ratio_range`` (limited so the crop fits
    the image), width ``int(s * a * W)``, height ``int(s / a * H)``, at a
    random integer position. A crop is taken when every box has at least
    the mode's IoU with it and at least one box centre lies strictly inside
    it; those boxes are kept, clipped to the crop, with their labels and
    ignore flags, the others dropped. After 50 failures a new mode is drawn,
    so the loop ends at the latest with the keep mode.

    Differences from ``MinIoURandomCrop``, whose modes, IoU rule (the
    smallest IoU over all boxes), centre rule and retry loop are the same:
    mmdet draws the width and height independently in ``[min_crop_size, 1]``
    of the image's and requires an absolute height/width in [0.5, 2]; the
    official crop draws one scale and an aspect relative to the image's, so
    a wide image gives wide crops. And an image without boxes is returned
    unchanged, as the official code does, where mmdet crops it. Boxes only:
    masks and segmentation maps are not cropped.

    Required Keys:

    - img
    - gt_bboxes (BaseBoxes[torch.float32])
    - gt_bboxes_labels (np.int64) (optional)
    - gt_ignore_flags (bool) (optional)

    Modified Keys:

    - img
    - img_shape
    - gt_bboxes
    - gt_bboxes_labels
    - gt_ignore_flags

    Args:
        min_ious (Sequence[float]): The minimum-IoU modes, each in [0, 1).
            Defaults to (0.1, 0.3, 0.5, 0.7, 0.9).
        min_crop_size (float): Smallest side scale of a crop, in (0, 1].
            Defaults to 0.3.
        aspect_ratio_range (Sequence[float]): Range of the crop's
            width/height relative to the image's, ``low <= 1 <= high``.
            Defaults to (0.5, 2.0).
        bbox_clip_border (bool): Whether to clip kept boxes to the crop.
            Defaults to True.

    Example:
        >>> import numpy as np
        >>> from mmdet.structures.bbox import HorizontalBoxes
        >>> np.random.seed(0)
        >>> crop = M2DetRandomCrop()
        >>> results = crop(dict(
        ...     img=np.zeros((100, 200, 3), np.uint8),
        ...     gt_bboxes=HorizontalBoxes(np.array([[60., 20, 100, 60]])),
        ...     gt_bboxes_labels=np.array([3])))
        >>> results['img'].shape, results['gt_bboxes'].tensor.tolist()
        ((48, 74, 3), [[26.0, 15.0, 66.0, 48.0]])
    """

    def __init__(self,
                 min_ious: Sequence[float] = (0.1, 0.3, 0.5, 0.7, 0.9),
                 min_crop_size: float = 0.3,
                 aspect_ratio_range: Sequence[float] = (0.5, 2.0),
                 bbox_clip_border: bool = True) -> None:
        # 1 is the parent's code for the keep mode
        if not all(0 <= iou < 1 for iou in min_ious):
            raise ValueError(f'min_ious must lie in [0, 1), got {min_ious}')
        if not 0 < min_crop_size <= 1:
            raise ValueError(
                f'min_crop_size must lie in (0, 1], got {min_crop_size}')
        _check_aspect_range(aspect_ratio_range)
        super().__init__(min_ious, min_crop_size, bbox_clip_border)
        self.aspect_ratio_range = tuple(aspect_ratio_range)

    def _random_patch(self, height: int, width: int) -> np.ndarray:
        """A candidate crop ``(left, top, right, bottom)`` in pixels."""
        scale = random.uniform(self.min_crop_size, 1)
        aspect = _random_aspect(scale, self.aspect_ratio_range)
        crop_w = max(int(scale * aspect * width), 1)
        crop_h = max(int(scale / aspect * height), 1)
        # the far border included: the official randrange(W - w) fails on a
        # crop as wide as the image
        left = random.randint(width - crop_w + 1)
        top = random.randint(height - crop_h + 1)
        return np.array((left, top, left + crop_w, top + crop_h))

    @autocast_box_type()
    def transform(self, results: dict) -> dict:
        """Crop the image and its boxes, see the class docstring.

        Args:
            results (dict): Result dict from loading pipeline.

        Returns:
            dict: The cropped results, or ``results`` itself when the keep
            mode is drawn or there are no boxes.
        """
        boxes = results['gt_bboxes']
        if len(boxes) == 0:
            return results
        height, width = results['img'].shape[:2]
        centers = boxes.centers.numpy()
        while True:
            min_iou = self._random_mode()
            if min_iou == 1:
                return results
            for _ in range(50):
                patch = self._random_patch(height, width)
                overlaps = HorizontalBoxes.overlaps(
                    HorizontalBoxes(patch[None].astype(np.float32)), boxes)
                if overlaps.min() < min_iou:
                    continue
                keep = ((centers > patch[:2]) &
                        (centers < patch[2:])).all(axis=1)
                if keep.any():
                    return self._crop(results, patch, keep)

    def _crop(self, results: dict, patch: np.ndarray,
              keep: np.ndarray) -> dict:
        left, top, right, bottom = patch
        boxes = results['gt_bboxes'][keep]
        boxes.translate_([-left, -top])
        if self.bbox_clip_border:
            boxes.clip_([bottom - top, right - left])
        results['gt_bboxes'] = boxes
        for key in ('gt_bboxes_labels', 'gt_ignore_flags'):
            if key in results:
                results[key] = results[key][keep]
        results['img'] = results['img'][top:bottom, left:right]
        results['img_shape'] = results['img'].shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(min_ious={self.min_ious}, '
                f'min_crop_size={self.min_crop_size}, '
                f'aspect_ratio_range={self.aspect_ratio_range}, '
                f'bbox_clip_border={self.bbox_clip_border})')


@TRANSFORMS.register_module()
class M2DetPhotoMetricDistortion(PhotoMetricDistortion):
    """SSD's photometric distortion as the official M2Det applies it.

    On the uint8 BGR image, each step with probability 0.5: brightness
    ``+ U(-brightness_delta, brightness_delta)``, then contrast
    ``* U(contrast_range)``, each clipped to [0, 255] and truncated to uint8;
    then in OpenCV's 8-bit HSV (hue 0-179, one unit per 2 degrees): hue
    ``+ randint(-hue_delta, hue_delta)`` modulo 180, saturation
    ``* U(saturation_range)`` clipped; back to BGR.

    Differences from ``PhotoMetricDistortion``: no random channel swap;
    contrast always before the HSV steps (mmdet puts it before or after at
    random); ``hue_delta`` in OpenCV's 8-bit hue units as the official code,
    so 18 is +-36 degrees (mmdet's is in degrees, on a float image); each
    step clips and stays uint8 (mmdet works unclipped in float32 and returns
    float32), and the image always goes through 8-bit HSV and back, as the
    official code does, even when neither hue nor saturation changes.

    Required Keys:

    - img (np.uint8)

    Modified Keys:

    - img (np.uint8)

    Args:
        brightness_delta (int): Largest brightness shift. Defaults to 32.
        contrast_range (Sequence[Number]): Range of the contrast factor.
            Defaults to (0.5, 1.5).
        saturation_range (Sequence[Number]): Range of the saturation factor.
            Defaults to (0.5, 1.5).
        hue_delta (int): Largest hue shift in OpenCV 8-bit units (2 degrees
            each), below 180. Defaults to 18.

    Example:
        >>> import numpy as np
        >>> np.random.seed(0)
        >>> img = np.full((4, 4, 3), (200, 40, 10), np.uint8)  # blue (BGR)
        >>> out = M2DetPhotoMetricDistortion()(dict(img=img))['img']
        >>> out.dtype, out[0, 0].tolist()
        (dtype('uint8'), [200, 93, 0])
    """

    def __init__(self,
                 brightness_delta: int = 32,
                 contrast_range: Sequence[Number] = (0.5, 1.5),
                 saturation_range: Sequence[Number] = (0.5, 1.5),
                 hue_delta: int = 18) -> None:
        if brightness_delta < 0:
            raise ValueError(
                f'brightness_delta must be >= 0, got {brightness_delta}')
        for name, (low, high) in (('contrast_range', contrast_range),
                                  ('saturation_range', saturation_range)):
            if not 0 <= low <= high:
                raise ValueError(
                    f'{name} must be (low, high) with 0 <= low <= high, got '
                    f'{(low, high)}')
        if not (isinstance(hue_delta, int) and 0 <= hue_delta < 180):
            raise ValueError('hue_delta must be an int in [0, 180) (OpenCV '
                             f'8-bit hue units), got {hue_delta!r}')
        super().__init__(brightness_delta, contrast_range, saturation_range,
                         hue_delta)

    @cache_randomness
    def _random_flags(self) -> Tuple[Union[int, float], ...]:
        """Flags and values of brightness, contrast, hue and saturation."""
        return (random.randint(2),
                random.uniform(-self.brightness_delta, self.brightness_delta),
                random.randint(2),
                random.uniform(self.contrast_lower, self.contrast_upper),
                random.randint(2),
                random.randint(-self.hue_delta, self.hue_delta + 1),
                random.randint(2),
                random.uniform(self.saturation_lower, self.saturation_upper))

    def transform(self, results: dict) -> dict:
        """Distort the image's colours, see the class docstring.

        Args:
            results (dict): Result dict from loading pipeline.

        Returns:
            dict: Result dict with the distorted image.
        """
        img = results['img']
        if img.dtype != np.uint8:
            raise TypeError(
                f'{self.__class__.__name__} needs the uint8 image that '
                f'LoadImageFromFile loads (to_float32=False), got {img.dtype}')
        (brightness, delta, contrast, alpha, hue, hue_shift, saturation,
         saturation_factor) = self._random_flags()
        if brightness:
            img = _clip_to_uint8(img, beta=delta)
        if contrast:
            img = _clip_to_uint8(img, alpha=alpha)
        img = mmcv.bgr2hsv(img)
        if hue:
            img[..., 0] = (img[..., 0].astype(np.int16) + hue_shift) % 180
        if saturation:
            img[..., 1] = _clip_to_uint8(img[..., 1], alpha=saturation_factor)
        results['img'] = mmcv.hsv2bgr(img)
        return results


@TRANSFORMS.register_module()
class M2DetExpand(Expand):
    """SSD's zoom-out with the official M2Det canvas: jittered aspect, p=0.6.

    With probability ``prob``, the image is placed at a random integer
    position on a canvas filled with ``mean``. The canvas side scale is
    ``s ~ U(ratio_range)`` with the official aspect jitter ``a`` (drawn from
    ``aspect_ratio_range``, limited so that neither side is smaller than
    the image's): the canvas is ``int(s * a * W)`` by ``int(s / a * H)``.
    Boxes move with the image.

    Differences from ``Expand``: mmdet scales both sides by the same ratio
    (no aspect jitter) and its recipe uses ``prob=0.5``. Boxes only: masks
    and segmentation maps are not expanded.

    Required Keys:

    - img
    - gt_bboxes (BaseBoxes[torch.float32]) (optional)

    Modified Keys:

    - img
    - img_shape
    - gt_bboxes

    Args:
        mean (Sequence[Number]): Canvas fill, in the image's channel order
            (BGR after ``LoadImageFromFile``). Defaults to (104, 117, 123).
        ratio_range (Sequence[Number]): Range of the side scale, from 1.
            Defaults to (1, 4).
        aspect_ratio_range (Sequence[float]): Range of the canvas's
            width/height relative to the image's, ``low <= 1 <= high``.
            Defaults to (0.5, 2.0).
        prob (float): Probability of expanding. Defaults to 0.6.

    Example:
        >>> import numpy as np
        >>> from mmdet.structures.bbox import HorizontalBoxes
        >>> np.random.seed(1)
        >>> expand = M2DetExpand()
        >>> results = expand(dict(
        ...     img=np.zeros((100, 200, 3), np.uint8),
        ...     gt_bboxes=HorizontalBoxes(np.array([[60., 20, 100, 60]]))))
        >>> results['img'].shape, results['gt_bboxes'].tensor.tolist()
        ((446, 447, 3), [[263.0, 153.0, 303.0, 193.0]])
    """

    def __init__(self,
                 mean: Sequence[Number] = (104, 117, 123),
                 ratio_range: Sequence[Number] = (1, 4),
                 aspect_ratio_range: Sequence[float] = (0.5, 2.0),
                 prob: float = 0.6) -> None:
        if len(mean) != 3:
            raise ValueError(f'mean needs 3 channel values, got {mean}')
        if not 1 <= ratio_range[0] <= ratio_range[1]:
            raise ValueError('ratio_range must be (low, high) with '
                             f'1 <= low <= high, got {ratio_range}')
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must lie in [0, 1], got {prob}')
        _check_aspect_range(aspect_ratio_range)
        super().__init__(
            mean=tuple(mean), to_rgb=False, ratio_range=ratio_range,
            prob=prob)
        self.aspect_ratio_range = tuple(aspect_ratio_range)

    @autocast_box_type()
    def transform(self, results: dict) -> dict:
        """Expand the image and move its boxes, see the class docstring.

        Args:
            results (dict): Result dict from loading pipeline.

        Returns:
            dict: Result dict with the expanded image and boxes.
        """
        if self._random_prob() > self.prob:
            return results
        img = results['img']
        height, width, channels = img.shape
        scale = self._random_ratio()
        aspect = _random_aspect(scale, self.aspect_ratio_range)
        # max(): rounding must not make the canvas smaller than the image
        canvas_w = max(int(scale * aspect * width), width)
        canvas_h = max(int(scale / aspect * height), height)
        left = random.randint(canvas_w - width + 1)
        top = random.randint(canvas_h - height + 1)
        canvas = np.empty((canvas_h, canvas_w, channels), img.dtype)
        canvas[...] = self.mean
        canvas[top:top + height, left:left + width] = img
        results['img'] = canvas
        results['img_shape'] = canvas.shape[:2]
        if results.get('gt_bboxes') is not None:
            results['gt_bboxes'].translate_([left, top])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(mean={self.mean}, '
                f'ratio_range={self.ratio_range}, '
                f'aspect_ratio_range={self.aspect_ratio_range}, '
                f'prob={self.prob})')


@TRANSFORMS.register_module()
class FilterSmallBoxes(BaseTransform):
    """Drop boxes whose width or height is at most ``min_size`` of the image's.

    The official code drops them after flipping, relative to the augmented
    image, so the rule is the same at every input size. mmdet's
    ``FilterAnnotations`` takes a size in pixels instead, and drops the whole
    image when no box is left. Labels and ignore flags follow the boxes; an
    image left without boxes is kept.

    Required Keys:

    - img
    - gt_bboxes (BaseBoxes[torch.float32])
    - gt_bboxes_labels (np.int64) (optional)
    - gt_ignore_flags (bool) (optional)

    Modified Keys:

    - gt_bboxes
    - gt_bboxes_labels
    - gt_ignore_flags

    Args:
        min_size (float): Sizes at or below this fraction of the image side
            are dropped, in [0, 1). Defaults to 0.01.
    """

    def __init__(self, min_size: float = 0.01) -> None:
        if not 0 <= min_size < 1:
            raise ValueError(f'min_size must lie in [0, 1), got {min_size}')
        self.min_size = min_size

    @autocast_box_type()
    def transform(self, results: dict) -> dict:
        """Drop the small boxes, see the class docstring.

        Args:
            results (dict): Result dict from loading pipeline.

        Returns:
            dict: Result dict without the small boxes.
        """
        height, width = results['img'].shape[:2]
        boxes = results['gt_bboxes']
        keep = ((boxes.widths > self.min_size * width) &
                (boxes.heights > self.min_size * height)).numpy()
        for key in ('gt_bboxes', 'gt_bboxes_labels', 'gt_ignore_flags'):
            if key in results:
                results[key] = results[key][keep]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(min_size={self.min_size})'


@TRANSFORMS.register_module()
class RandomInterpResize(Resize):
    """mmdet's ``Resize`` with an interpolation method drawn per image.

    The official training resize draws one of OpenCV's linear, cubic, area,
    nearest and Lanczos interpolations uniformly for each image; mmdet's
    ``Resize`` has one fixed method. The test pipeline keeps a plain
    ``Resize`` (bilinear), as the official test resize.

    Required Keys:

    - img
    - gt_bboxes (BaseBoxes[torch.float32]) (optional)

    Modified Keys:

    - img
    - img_shape
    - gt_bboxes

    Added Keys:

    - scale
    - scale_factor
    - keep_ratio
    - homography_matrix

    Args:
        scale (int or Tuple[int, int]): Target ``(w, h)``, e.g. the square
            network input.
        interpolations (Sequence[str]): The methods to draw from, names of
            ``mmcv.imresize`` for OpenCV. Defaults to ('bilinear', 'bicubic',
            'area', 'nearest', 'lanczos').
        keep_ratio (bool): Whether to keep the aspect ratio. Defaults to
            False, as M2Det stretches to a square.
        clip_object_border (bool): Whether to clip boxes to the image.
            Defaults to True.

    Example:
        >>> import numpy as np
        >>> resize = RandomInterpResize(scale=(320, 320))
        >>> resize(dict(img=np.zeros((100, 200, 3), np.uint8)))['img'].shape
        (320, 320, 3)
    """

    def __init__(self,
                 scale: Union[int, Tuple[int, int]],
                 interpolations: Sequence[str] = OFFICIAL_INTERPOLATIONS,
                 keep_ratio: bool = False,
                 clip_object_border: bool = True) -> None:
        unknown = [i for i in interpolations if i not in cv2_interp_codes]
        if not interpolations or unknown:
            raise ValueError(
                f'interpolations must be a non-empty list of '
                f'{sorted(cv2_interp_codes)}, got {interpolations!r}')
        super().__init__(
            scale=scale,
            keep_ratio=keep_ratio,
            clip_object_border=clip_object_border,
            interpolation=interpolations[0])
        self.interpolations = tuple(interpolations)

    @cache_randomness
    def _random_interpolation(self) -> str:
        return self.interpolations[random.randint(len(self.interpolations))]

    def transform(self, results: dict) -> dict:
        """Resize with a randomly drawn method, see the class docstring.

        Args:
            results (dict): Result dict from loading pipeline.

        Returns:
            dict: The resized results.
        """
        # the parent's image resize reads the method from here
        self.interpolation = self._random_interpolation()
        return super().transform(results)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale={self.scale}, '
                f'interpolations={self.interpolations}, '
                f'keep_ratio={self.keep_ratio}, '
                f'clip_object_border={self.clip_object_border})')
