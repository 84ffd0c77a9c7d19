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

With ``--end2end`` the graph goes from image to detections: priors,
decoding and hard NMS inside, outputs ``dets`` ``(N, K, 5)`` and ``labels``
``(N, K)`` (``projects/m2det/deploy/onnx_end2end.py``; run it with
``demo/onnx_demo.py``, which needs only numpy, OpenCV and ONNX Runtime).
``--verify`` then compares its detections with ``inference_detector``'s
under the same hard NMS.
"""
import argparse
import logging
import os.path as osp
import sys

import torch
from mmengine.config import DictAction

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO_ROOT)

from projects.m2det.deploy import (export_end2end, export_onnx,  # noqa
                                   graph_input_size, graph_nms_iou)


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
    parser.add_argument(
        '--end2end', action='store_true',
        help='one graph from image to dets and labels, NMS included')
    parser.add_argument(
        '--iou-thr', type=float,
        help="--end2end: hard NMS IoU (default: the config's; 0.45 for "
        'soft-NMS, which has no ONNX form)')
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


def hard_nms_model(model, iou_threshold: float):
    """``model`` with the graph's hard NMS (offset 0) in place of its
    ``test_cfg.nms`` (the head and the model share one ``test_cfg``)."""
    model.bbox_head.test_cfg.nms = dict(type='nms',
                                        iou_threshold=iou_threshold)
    return model


def verify_end2end(model, onnx_file: str, image: str, atol: float) -> bool:
    """Compare the graph's detections with ``inference_detector``'s."""
    import numpy as np
    import onnxruntime as ort
    from mmdet.apis import inference_detector

    from projects.m2det.deploy.onnx_detector import build_test_pipeline
    from projects.m2det.deploy.onnx_export import INPUT_NAME
    data = build_test_pipeline(model.cfg)(
        dict(img_path=image, img_id=0))
    session = ort.InferenceSession(onnx_file,
                                   providers=['CPUExecutionProvider'])
    dets, labels = session.run(
        None, {INPUT_NAME: data['inputs'][None].float().numpy()})
    keep = labels[0] >= 0
    scale = np.tile(data['data_samples'].metainfo['scale_factor'], 2)
    boxes = dets[0, keep, :4] / scale
    ref = inference_detector(model, image).pred_instances
    same = len(ref) == int(keep.sum()) and bool(
        (ref.labels.numpy() == labels[0, keep]).all())
    box_error = float(np.abs(ref.bboxes.numpy() - boxes).max()) if (
        same and len(ref)) else 0.0
    score_error = float(np.abs(ref.scores.numpy() - dets[0, keep, 4]).max()
                        ) if same and len(ref) else 0.0
    print(f'detections: PyTorch {len(ref)}, ONNX Runtime {int(keep.sum())}, '
          f'labels {"equal" if same else "differ"}, max box error '
          f'{box_error:.2e} px, max score error {score_error:.2e}')
    return same and box_error <= atol and score_error <= 1e-4


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
    if args.end2end:
        import json
        iou = (graph_nms_iou(model.bbox_head.test_cfg)
               if args.iou_thr is None else args.iou_thr)
        classes = (model.dataset_meta or {}).get('classes', ())
        export_end2end(model, args.out, size, iou,
                       not args.static_batch, args.opset,
                       metadata=dict(classes=json.dumps(list(classes))))
        print(f'wrote {args.out}: input image (N, 3, {size[0]}, {size[1]}), '
              f'outputs dets, labels; hard NMS at IoU '
              f'{iou}')
        if args.verify and not verify_end2end(
                hard_nms_model(model, iou), args.out, args.verify, 1e-2):
            sys.exit(f'{args.out}: its detections differ from PyTorch\'s')
        return
    names = export_onnx(model, args.out, size, not args.static_batch,
                        args.opset)
    print(f'wrote {args.out}: input image (N, 3, {size[0]}, {size[1]}), '
          f'outputs {", ".join(names)}')
    if args.verify and not verify(model, args.out, args.verify, args.rtol):
        sys.exit(f'{args.out} does not match PyTorch to rtol {args.rtol}')


if __name__ == '__main__':
    main()
