"""Converts checkpoints of the official M2Det code to this project's models.

The official code (github.com/VDIGPKU/M2Det) saves a plain ``state_dict`` of
its ``M2Det`` module, possibly with the ``module.`` prefix of
``DataParallel``. :func:`convert_official_state_dict` renames every tensor to
the detector that ``configs/m2det_*.py`` builds (``SSDVGG`` or ``ResNet``
backbone, :class:`MLFPN` neck, ``SSDHead``) and reorders what the two models
lay out differently:

* TUM decoder lists: the official ``latlayer`` and ``smooth`` lists run from
  the smallest scale to the largest, ours from the largest to the smallest.
* Head channels: the official class conv puts the background at class 0,
  mmdet's ``SSDHead`` puts it last (class ``num_classes``). Both heads lay
  out the channels as ``[anchor][class]`` and ``[anchor][coordinate]``; the
  anchor order is the same (see :data:`OFFICIAL_ANCHOR_ORDER`).

:func:`check_against_model` then compares a converted state dict with a
model built from a config, so that a class count, TUM count or width that
does not match the config fails with the config key to change.
"""
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

#: Per-location prior order of mmdet's ``SSDHead`` with
#: ``M2DetAnchorGenerator``, as indices into the official ``PriorBox`` order
#: (min square, sqrt(min * max) square, 2:1, 1:2, 3:1, 1:3). The two orders
#: are the same, so this is the identity; the head conversion still applies
#: it so that a change on either side shows up in one place.
OFFICIAL_ANCHOR_ORDER: Tuple[int, ...] = (0, 1, 2, 3, 4, 5)

# key prefixes every official M2Det checkpoint has, whatever its backbone
_REQUIRED_PREFIXES = ('base.', 'reduce.', 'up_reduce.', 'leach.0.', 'unet1.',
                      'Norm.', 'loc.0.', 'conf.0.')

# official name -> ours, for the parts that are only renamed; the TUM and
# head keys, which also change order, are handled by their own functions
_RENAMES = (
    (r'base\.(\d+)\.(weight|bias)', r'backbone.features.\1.\2'),  # VGG16
    (r'base\.((?:conv1|bn1|layer\d)\..+)', r'backbone.\1'),  # ResNet
    (r'reduce\.(.+)', r'neck.ffm_v1.shallow_conv.\1'),
    (r'up_reduce\.(.+)', r'neck.ffm_v1.deep_conv.\1'),
    (r'leach\.(\d+)\.(.+)', r'neck.ffm_v2.\1.conv.\2'),
    (r'Norm\.(.+)', r'neck.out_norm.\1'),
    (r'sfam_module\.fc1\.(\d+)\.(.+)', r'neck.sfam.se_blocks.\1.1.\2'),
    (r'sfam_module\.fc2\.(\d+)\.(.+)', r'neck.sfam.se_blocks.\1.3.\2'),
)
# the ImageNet classifier of the official ResNet backbone, which M2Det never
# runs and mmdet's ResNet does not have
_UNUSED = re.compile(r'base\.fc\.(weight|bias)')
_TUM_KEY = re.compile(r'unet(\d+)\.(layers|toplayer|latlayer|smooth)\.(\d+)'
                      r'\.(.+)')
_HEAD_KEY = re.compile(r'(loc|conf)\.(\d+)\.(weight|bias)')


def _strip_data_parallel_prefix(
        state_dict: Dict[str, Tensor]) -> 'OrderedDict[str, Tensor]':
    """Drop the ``module.`` prefix that ``DataParallel`` adds to every key.

    Args:
        state_dict (dict[str, Tensor]): A state dict, with or without the
            prefix.

    Returns:
        OrderedDict[str, Tensor]: The same tensors under unprefixed keys.
    """
    return OrderedDict(
        (k[len('module.'):] if k.startswith('module.') else k, v)
        for k, v in state_dict.items())


def num_classes_of(state_dict: Dict[str, Tensor]) -> int:
    """Number of object classes (background not counted) of a converted
    state dict.

    Args:
        state_dict (dict[str, Tensor]): An output of
            :func:`convert_official_state_dict`.

    Returns:
        int: Class conv channels / anchors per location - 1 (80 for COCO).
    """
    channels = state_dict['bbox_head.cls_convs.0.0.weight'].shape[0]
    return channels // len(OFFICIAL_ANCHOR_ORDER) - 1


def convert_official_state_dict(state_dict: Dict[str, Tensor],
                                share_ffm_v2: bool = True
                                ) -> 'OrderedDict[str, Tensor]':
    """Convert an official M2Det state dict to this project's key names.

    Args:
        state_dict (dict[str, Tensor]): The official ``M2Det`` state dict
            (VGG16 or ResNet backbone), with or without the ``module.``
            prefix of ``DataParallel``.
        share_ffm_v2 (bool): Whether the target model shares one FFMv2
            across levels (``model.neck.share_ffm_v2``), as the official
            model shares its ``leach``. The official state dict stores the
            shared module once per level; with sharing these copies must be
            identical, else a ``ValueError`` is raised (loading them into a
            shared module would keep only the last one). Defaults to True.

    Returns:
        OrderedDict[str, Tensor]: The detector's state dict, in the official
        key order; BatchNorm counters missing from checkpoints of
        PyTorch < 0.4.1 are added as 0.

    Raises:
        ValueError: If the state dict is not one of an official M2Det, if
            its head does not have :data:`OFFICIAL_ANCHOR_ORDER`'s number of
            anchors per location, or if shared copies differ.
    """
    state_dict = _strip_data_parallel_prefix(state_dict)
    _check_is_official(state_dict)
    if share_ffm_v2:
        _check_identical_copies(state_dict, 'leach')
    num_scales = sum(
        1 for k in state_dict if re.fullmatch(r'loc\.\d+\.weight', k))

    converted = OrderedDict()
    unknown = []
    for key, value in state_dict.items():
        if _UNUSED.fullmatch(key):
            continue
        new = _convert_tum_key(key, num_scales) or _rename(key)
        if new is None:
            match = _HEAD_KEY.fullmatch(key)
            if match is None:
                unknown.append(key)
                continue
            new, value = _convert_head_tensor(match, value)
        converted[new] = value
    if unknown:
        raise ValueError(
            f'{len(unknown)} keys of the checkpoint are not part of an '
            f'official M2Det (VGG16 or ResNet backbone): {unknown[:5]}')
    return _add_missing_bn_counters(converted)


def check_against_model(state_dict: Dict[str, Tensor],
                        model: nn.Module) -> None:
    """Check that a converted state dict fits a detector, key by key.

    Model hyper-parameters are compared first, so that the error names the
    config key to change; any remaining difference in keys or shapes (for
    example a VGG16 checkpoint and a ResNet config) is listed after them.
    The model may live on the ``meta`` device.

    Args:
        state_dict (dict[str, Tensor]): The output of
            :func:`convert_official_state_dict`.
        model (nn.Module): A ``SingleStageDetector`` with an :class:`MLFPN`
            neck and an ``SSDHead``, e.g. built from ``configs/m2det_*.py``.

    Raises:
        ValueError: If the state dict would not load into ``model`` with
            strict key matching, or shared modules get different tensors.
    """
    neck, head = model.neck, model.bbox_head
    ckpt_backbone = ('SSDVGG' if 'backbone.features.0.weight' in state_dict
                     else 'ResNet')
    ckpt_levels = 1 + max(
        int(k.split('.')[2]) for k in state_dict if k.startswith('neck.tums.'))
    ckpt_planes = state_dict['neck.tums.0.encoder.0.conv.weight'].shape[0]
    ckpt_scales = sum(1 for k in state_dict
                      if re.fullmatch(r'bbox_head\.reg_convs\.\d+\.0\.weight',
                                      k))
    for what, ckpt, ours, key in (
            ('backbones', ckpt_backbone, type(model.backbone).__name__,
             'model.backbone.type'),
            ('class counts (conf channels / 6 - 1)',
             num_classes_of(state_dict), head.num_classes,
             'model.bbox_head.num_classes'),
            ('TUM counts (unet1, unet2, ...)', ckpt_levels, neck.num_levels,
             'model.neck.num_levels'),
            ('TUM widths', ckpt_planes, neck.out_channels // neck.num_levels,
             'model.neck.planes'),
            ('scale counts (loc.0, loc.1, ...)', ckpt_scales, neck.num_scales,
             'model.neck.num_scales')):
        if ckpt != ours:
            raise ValueError(
                f'{what} differ: the checkpoint has {ckpt}, the config has '
                f'{key}={ours}; use a config with {key}={ckpt} or a '
                f'checkpoint with {ours}')

    expected = model.state_dict(keep_vars=True)
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    wrong_shape = [
        f'{k}: checkpoint {tuple(state_dict[k].shape)}, model '
        f'{tuple(expected[k].shape)}' for k in expected
        if k in state_dict and state_dict[k].shape != expected[k].shape
    ]
    problems = []
    for what, keys in (('missing in the checkpoint', missing),
                       ('not in the model', unexpected),
                       ('with other shapes', wrong_shape)):
        if keys:
            problems.append(f'{len(keys)} keys {what}, e.g. {keys[:3]}')
    if problems:
        raise ValueError('the converted checkpoint does not fit the model '
                         'the config builds: ' + '; '.join(problems))
    _check_tied_tensors(state_dict, expected)


def _check_is_official(state_dict: Dict[str, Tensor]) -> None:
    """Raise unless ``state_dict`` has the keys of an official M2Det."""
    missing = [
        p + '*' for p in _REQUIRED_PREFIXES
        if not any(k.startswith(p) for k in state_dict)
    ]
    if missing:
        raise ValueError(
            f'not a checkpoint of the official M2Det: no keys matching '
            f'{missing}; its keys start with '
            f'{sorted({k.split(".")[0] for k in state_dict})[:8]}')
    if 'base.0.weight' not in state_dict and \
            'base.conv1.weight' not in state_dict:
        raise ValueError(
            'the official checkpoint has an unsupported backbone: neither '
            "'base.0.weight' (VGG16) nor 'base.conv1.weight' (ResNet) found; "
            f"its base keys start with {sorted(state_dict)[:3]}")


def _check_identical_copies(state_dict: Dict[str, Tensor],
                            prefix: str) -> None:
    """Raise if the copies ``prefix.0.*``, ``prefix.1.*``, ... of one
    shared official module differ."""
    for key, value in state_dict.items():
        match = re.fullmatch(re.escape(prefix) + r'\.(\d+)\.(.+)', key)
        if match is None or match.group(1) == '0':
            continue
        first = f'{prefix}.0.{match.group(2)}'
        if not torch.equal(value, state_dict[first]):
            raise ValueError(
                f"'{key}' differs from '{first}': the official model shares "
                'one module across levels, so its copies should be '
                'identical; to keep them apart, convert with '
                'share_ffm_v2=False for a model built with '
                'model.neck.share_ffm_v2=False')


def _rename(key: str) -> Optional[str]:
    """Our name for an official key that only needs renaming, else None."""
    for pattern, replacement in _RENAMES:
        if re.fullmatch(pattern, key):
            return re.sub(pattern, replacement, key)
    return None


def _convert_tum_key(key: str, num_scales: int) -> Optional[str]:
    """Our name for an official TUM key (``unetK.*``), else None.

    ``latlayer[i]`` and ``smooth[i]`` of the official TUM act on the
    ``i``-th smallest scale; our ``lateral_convs`` and ``smooth_convs`` are
    indexed from the largest (index 0 reads the TUM input).
    """
    match = _TUM_KEY.fullmatch(key)
    if match is None:
        return None
    level, part, index, rest = match.groups()
    index = int(index)
    if part == 'layers':
        name = f'encoder.{index}'
    elif part == 'toplayer':
        name = 'top_conv'
    else:
        ours = 'lateral_convs' if part == 'latlayer' else 'smooth_convs'
        name = f'{ours}.{num_scales - 2 - index}'
    return f'neck.tums.{int(level) - 1}.{name}.{rest}'


def _convert_head_tensor(match: re.Match,
                         value: Tensor) -> Tuple[str, Tensor]:
    """Rename an official ``loc``/``conf`` tensor and reorder its channels.

    Output channels are ``[anchor][class]`` (or ``[anchor][coordinate]``) on
    both sides; anchors follow :data:`OFFICIAL_ANCHOR_ORDER` and the
    background class moves from first to last.
    """
    kind, level, param = match.groups()
    num_anchors = len(OFFICIAL_ANCHOR_ORDER)
    per_anchor = 4 if kind == 'loc' else value.shape[0] // num_anchors
    if value.shape[0] != num_anchors * per_anchor:
        raise ValueError(
            f"'{match.group(0)}' has {value.shape[0]} output channels; "
            f'expected {num_anchors} anchors per location x '
            f'{"4 coordinates" if kind == "loc" else "classes"}')
    channel_order = list(range(per_anchor))
    if kind == 'conf':
        channel_order = channel_order[1:] + channel_order[:1]
    name = 'reg_convs' if kind == 'loc' else 'cls_convs'
    return (f'bbox_head.{name}.{level}.0.{param}',
            permute_head_channels(value, OFFICIAL_ANCHOR_ORDER,
                                  channel_order))


def permute_head_channels(value: Tensor, anchor_order: Sequence[int],
                          channel_order: Sequence[int]) -> Tensor:
    """Reorder the output channels of a head conv laid out
    ``[anchor][channel]``.

    Args:
        value (Tensor): Conv weight ``(A * C, ...)`` or bias ``(A * C,)``.
        anchor_order (Sequence[int]): New anchor ``a`` is old anchor
            ``anchor_order[a]``.
        channel_order (Sequence[int]): New channel ``c`` of every anchor is
            old channel ``channel_order[c]``.

    Returns:
        Tensor: The reordered tensor, same shape.

    Example:
        >>> # 2 anchors x 3 classes, background first -> background last
        >>> permute_head_channels(torch.arange(6), [0, 1], [1, 2, 0])
        tensor([1, 2, 0, 4, 5, 3])
    """
    grouped = value.reshape(len(anchor_order), len(channel_order),
                            *value.shape[1:])
    grouped = grouped[list(anchor_order)][:, list(channel_order)]
    return grouped.reshape(value.shape).contiguous()


def _add_missing_bn_counters(state_dict: 'OrderedDict[str, Tensor]'
                             ) -> 'OrderedDict[str, Tensor]':
    """Give every BatchNorm a ``num_batches_tracked``, which checkpoints of
    PyTorch < 0.4.1 lack, so that the result loads with strict matching."""
    out = OrderedDict()
    for key, value in state_dict.items():
        out[key] = value
        if key.endswith('.running_var'):
            counter = key[:-len('running_var')] + 'num_batches_tracked'
            out.setdefault(counter,
                           state_dict.get(counter, torch.tensor(0)))
    return out


def _check_tied_tensors(state_dict: Dict[str, Tensor],
                        expected: Dict[str, Tensor]) -> None:
    """Raise if the model shares a tensor between keys that the checkpoint
    fills with different values (only the last would survive loading)."""
    groups: Dict[int, List[str]] = {}
    for key, tensor in expected.items():
        groups.setdefault(id(tensor), []).append(key)
    for keys in groups.values():
        for key in keys[1:]:
            if not torch.equal(state_dict[key], state_dict[keys[0]]):
                raise ValueError(
                    f"the model shares '{keys[0]}' and '{key}' but the "
                    'checkpoint holds different values for them; build the '
                    'model without that sharing (e.g. '
                    'model.neck.share_ffm_v2=False)')
