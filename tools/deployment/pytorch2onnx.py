"""Export a detector's network to ONNX and check it against PyTorch.

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT \\
        --out work_dirs/m2det_320.onnx --verify data/demo/val/000000.jpg

The graph takes the resized image (``(N, 3, H, W)`` float32, 0-255, in the
config's channel order) and gives the head's raw outputs per level; box
decoding and NMS run outside it, with the config's head
(``projects.m2det.deploy.onnx_detector.OnnxDetector``). ``--verify`` runs both
PyTorch and ONNX Runtime on an image and fails unless the raw outputs agree
to ``--rtol`` of their largest magnitude, the class scores (softmax) to
``--rtol`` absolute, and the final detections match.
"""
import argparse
import logging
import os.path as osp
import sys

import torch
from mmengine.config import DictAction

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO_ROOT)

from projects.m2det.deploy import export_onnx, graph_input_size  # noqa


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file ("none": random '
                        'weights, for trying the export)')
    parser.add_argument('--out', required=True, help='the .onnx file')
    parser.add_argument(
        '--input-size', type=int, nargs=2, metavar=('H', 'W'),
        help="input height and width (default: the config's test size)")
    parser.add_argument('--static-batch', action='store_true',
                        help='fix the batch size to 1')
    parser.add_argument('--opset', type=int, default=18)
    parser.add_argument('--verify', metavar='IMAGE',
                        help='compare ONNX Runtime with PyTorch on IMAGE')
    parser.add_argument('--rtol', type=float, default=1e-4,
                        help='allowed error relative to the largest output')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, as in tools/test.py')
    return parser.parse_args()


def _class_scores(cls_score: torch.Tensor,
                  num_classes: int) -> torch.Tensor:
    """Softmax scores ``(N, H * W * A, C + 1)`` of one level's logits."""
    scores = cls_score.permute(0, 2, 3, 1).reshape(cls_score.shape[0], -1,
                                                   num_classes)
    return scores.softmax(-1)


def verify(model, onnx_file: str, image: str, rtol: float) -> bool:
    """Compare raw outputs and detections of PyTorch and ONNX Runtime."""
    from mmdet.apis import inference_detector

    from projects.m2det.deploy.onnx_detector import OnnxDetector
    onnx_detector = OnnxDetector(onnx_file, model.cfg)
    data = onnx_detector._pipeline(False)(dict(img_path=image, img_id=0))
    batch = data['inputs'][None].float()  # (1, 3, H, W)
    with torch.no_grad():
        cls_scores, bbox_preds = model._forward(
            model.data_preprocessor(dict(inputs=batch), False)['inputs'])
    ok = True
    outputs = [torch.from_numpy(out) for out in onnx_detector.run(
        batch.numpy())]
    for name, ref, out in zip(onnx_detector.session.get_outputs(),
                              [*cls_scores, *bbox_preds], outputs):
        error = (out - ref).abs().max().item()
        scale = ref.abs().max().item()
        ok &= error <= rtol * scale
        print(f'{name.name:12s} {tuple(out.shape)}: max abs error '
              f'{error:.2e}, {error / scale:.2e} of the largest output')
    num_classes = model.bbox_head.cls_out_channels
    score_error = max(
        (_class_scores(out, num_classes) - _class_scores(ref, num_classes)
         ).abs().max().item()
        for ref, out in zip(cls_scores, outputs[:len(cls_scores)]))
    ok &= score_error <= rtol
    print(f'class scores (softmax): max abs error {score_error:.2e}')
    ref = inference_detector(model, image).pred_instances
    out = onnx_detector(image).pred_instances
    same = len(ref) == len(out) and bool((ref.labels == out.labels).all())
    box_error = (ref.bboxes - out.bboxes).abs().max().item() if same and len(
        ref) else 0.0
    print(f'detections: PyTorch {len(ref)}, ONNX Runtime {len(out)}, '
          f'labels {"equal" if same else "differ"}, max box error '
          f'{box_error:.2e} px')
    return ok and same


def main() -> None:
    args = parse_args()
    from mmdet.apis import init_detector
    from mmengine.config import Config
    # torch.onnx lists every torchvision op it could not register
    logging.getLogger('torch.onnx').setLevel(logging.ERROR)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    checkpoint = None if args.checkpoint == 'none' else args.checkpoint
    model = init_detector(cfg, checkpoint, device='cpu').eval()
    size = tuple(args.input_size or graph_input_size(cfg))
    names = export_onnx(model, args.out, size, not args.static_batch,
                        args.opset)
    print(f'wrote {args.out}: input image (N, 3, {size[0]}, {size[1]}), '
          f'outputs {", ".join(names)}')
    if args.verify and not verify(model, args.out, args.verify, args.rtol):
        sys.exit(f'{args.out} does not match PyTorch to rtol {args.rtol}')


if __name__ == '__main__':
    main()
