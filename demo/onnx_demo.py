"""Detect with an end-to-end M2Det ONNX file: numpy, OpenCV and ONNX
Runtime only, no torch, mmdet or config.

    python tools/deployment/pytorch2onnx.py configs/m2det_demo.py CKPT \\
        --end2end --out m2det_demo_end2end.onnx
    python demo/onnx_demo.py m2det_demo_end2end.onnx \\
        data/demo/val/000000.jpg \\
        --out vis.jpg --json dets.json

The graph (``projects/m2det/deploy/onnx_end2end.py``) takes the image
resized to its input size, 0-255 in the channel order OpenCV loads (BGR),
and gives ``dets`` ``(N, K, 5)`` and ``labels`` ``(N, K)`` in the input's
pixels; this script resizes as the config's test pipeline does (bilinear,
aspect ratio not kept), scales the boxes back to the image and draws those
scoring at least ``--score-thr``. The class names come from the file's
metadata.
"""
import argparse
import json
from typing import Dict, List, Sequence

import cv2
import numpy as np
import onnxruntime as ort


class End2EndOnnxDetector:
    """An ONNX Runtime session of an end-to-end graph."""

    def __init__(self, onnx_file: str, threads: int = 0) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(
            onnx_file, options, providers=['CPUExecutionProvider'])
        graph_input = self.session.get_inputs()[0]
        outputs = [o.name for o in self.session.get_outputs()]
        if outputs != ['dets', 'labels'] or not all(
                isinstance(d, int) for d in graph_input.shape[2:]):
            raise ValueError(
                f'{onnx_file}: expected outputs dets and labels and a fixed '
                f'input size, got {outputs} and {graph_input.shape}; export '
                'it with tools/deployment/pytorch2onnx.py --end2end')
        self.input_name = graph_input.name
        self.height, self.width = graph_input.shape[2:]
        meta = self.session.get_modelmeta().custom_metadata_map
        self.classes = json.loads(meta.get('classes', '[]'))

    def __call__(self, images: Sequence[np.ndarray]) -> List[Dict]:
        """Detections of BGR ``uint8`` images, in their own pixels."""
        batch = np.stack([
            cv2.resize(img, (self.width, self.height),
                       interpolation=cv2.INTER_LINEAR).transpose(2, 0, 1)
            for img in images
        ]).astype(np.float32)  # (N, 3, H, W)
        dets, labels = self.session.run(None, {self.input_name: batch})
        results = []
        for img, img_dets, img_labels in zip(images, dets, labels):
            keep = img_labels >= 0  # padding rows have label -1
            scale = np.array([
                img.shape[1] / self.width, img.shape[0] / self.height
            ] * 2, dtype=np.float32)
            results.append(
                dict(bboxes=img_dets[keep, :4] * scale,
                     scores=img_dets[keep, 4], labels=img_labels[keep]))
        return results

    def draw(self, img: np.ndarray, result: Dict,
             score_thr: float) -> np.ndarray:
        out = img.copy()
        for box, score, label in zip(result['bboxes'], result['scores'],
                                     result['labels']):
            if score < score_thr:
                continue
            x1, y1, x2, y2 = (int(round(v)) for v in box)
            name = (self.classes[label]
                    if label < len(self.classes) else str(label))
            cv2.rectangle(out, (x1, y1), (x2, y2), (0, 200, 0), 2)
            cv2.putText(out, f'{name} {score:.2f}', (x1, max(y1 - 3, 10)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 200, 0), 1)
        return out


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('onnx_file', help='an end-to-end .onnx file')
    parser.add_argument('images', nargs='+', help='image files, one batch')
    parser.add_argument('--out', nargs='+',
                        help='drawn images to write, one per input image')
    parser.add_argument('--json', help='write all detections here')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='draw and print boxes scoring at least this '
                        '(default: %(default)s)')
    parser.add_argument('--threads', type=int, default=0,
                        help='ONNX Runtime threads (default: its choice)')
    args = parser.parse_args()
    if args.out and len(args.out) != len(args.images):
        parser.error(f'--out names {len(args.out)} files for '
                     f'{len(args.images)} images')
    return args


def main() -> None:
    args = parse_args()
    detector = End2EndOnnxDetector(args.onnx_file, args.threads)
    images = []
    for path in args.images:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise SystemExit(f'{path}: not an image OpenCV can read')
        images.append(img)
    results = detector(images)
    for i, (path, result) in enumerate(zip(args.images, results)):
        shown = result['scores'] >= args.score_thr
        print(f'{path}: {len(result["scores"])} detections, '
              f'{int(shown.sum())} scoring at least {args.score_thr}')
        if args.out:
            cv2.imwrite(args.out[i],
                        detector.draw(images[i], result, args.score_thr))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump([{k: v.tolist()
                        for k, v in r.items()} for r in results], f)


if __name__ == '__main__':
    main()
