"""Fast inference in PyTorch: BN folded into convs, channels-last,
bfloat16, and optionally torch.compile (one of the backends
:func:`projects.m2det.deploy.optimize_for_inference` chooses from).

Measured on the 2-core AVX-512 CI CPU (torch 2.13, 2 threads), the
M2Det-VGG16-320 forward takes 0.60 s in float32 and 0.16 s with all three
(see docs/benchmarks.md): this CPU multiplies bfloat16 matrices about 5x
faster than float32 ones, channels-last lets oneDNN skip layout reorders,
and folding the BN after every MLFPN conv removes a pass over each map.
Post-processing (prior decoding, NMS) stays in float32.

``compile=True`` adds torch.compile (inductor, with weights frozen into
the graph) for another 1.7x in bfloat16 at about 20 s of compilation on the
first image, and again for each new batch size.
"""
import torch
from mmcv.cnn import fuse_conv_bn
from torch import nn

from ..utils.precision import DTYPES, resolve_dtype


def fold_and_cast(detector: nn.Module,
                  dtype: str = 'auto',
                  channels_last: bool = True,
                  compile: bool = False) -> nn.Module:
    """Make a single-stage detector faster for inference in PyTorch, in
    place.

    BN layers that follow a conv are folded into it; backbone, neck and head
    move to ``dtype`` and, optionally, the channels-last memory format; the
    images are converted on the way in and the head's outputs go back to
    float32, so that decoding and NMS are unchanged. The detector is put in
    eval mode and can no longer be trained.

    ``compile`` sets ``torch._inductor.config.freezing`` for the process:
    inductor then folds the weights into the compiled graph, which is what
    makes compilation pay off on the CPU; in torch 2.13 the setting does not
    take effect through ``torch.compile(options=...)``. Freezing only acts
    on graphs compiled for inference.

    Args:
        detector (nn.Module): A detector with ``backbone``, ``neck``,
            ``bbox_head`` and ``extract_feat`` (mmdet's
            ``SingleStageDetector``).
        dtype (str): ``'bfloat16'``, ``'float32'`` or ``'auto'``
            (bfloat16 where the CPU runs it natively, see
            :func:`projects.m2det.utils.precision.default_dtype`; no
            measuring).
            Defaults to ``'auto'``.
        channels_last (bool): Whether to use the channels-last memory
            format. Defaults to True.
        compile (bool): Whether to compile the network (backbone, neck and
            head) with torch.compile. Defaults to False.

    Returns:
        nn.Module: ``detector`` itself.
    """
    dtype = resolve_dtype(dtype)
    if getattr(detector, '_optimized_for_inference', False):
        return detector
    torch_dtype = DTYPES[dtype]
    memory_format = (torch.channels_last
                     if channels_last else torch.contiguous_format)
    detector.eval()
    for part in (detector.backbone, detector.neck, detector.bbox_head):
        fuse_conv_bn(part)
        part.to(dtype=torch_dtype, memory_format=memory_format)

    extract_feat = detector.extract_feat
    head_forward = detector.bbox_head.forward

    def fast_extract_feat(inputs: torch.Tensor):
        return extract_feat(
            inputs.to(dtype=torch_dtype, memory_format=memory_format))

    def float32_head_forward(feats):
        return tuple([out.float() for out in outs]
                     for outs in head_forward(feats))

    if compile:
        import torch._inductor.config as inductor_config
        inductor_config.freezing = True
        fast_extract_feat = torch.compile(fast_extract_feat)
        float32_head_forward = torch.compile(float32_head_forward)
    detector.extract_feat = fast_extract_feat
    detector.bbox_head.forward = float32_head_forward
    detector._optimized_for_inference = True
    return detector
