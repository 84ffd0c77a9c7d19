"""What ``tools/analysis_tools/benchmark_cpu.py`` measures, and the worker
that measures one config in its own process.

The worker runs as ``python -m projects.m2det.utils.benchmark JOB``, where
``JOB`` is the json of the arguments of :func:`measure`; it prints the
figures as json on its last line of output. One process per config keeps
its peak memory its own. :mod:`.benchmark_report` starts the workers and
merges their rounds.
"""
import json
import os.path as osp
import resource
import statistics
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence

import torch


# optimize_for_inference arguments of each mode; 'fp32' is the model as
# built, 'onnx' the network exported and run by ONNX Runtime (float32),
# 'onnx-int8' that graph quantized to int8. int8 is calibrated on
# CALIBRATION_IMAGES random images (timing only; tools/deployment/
# quantize_int8.py --eval measures the accuracy on real ones).
# 'fast' and 'compile' are what --fast and --compile pick on this CPU:
# 'fast' times the candidates as --fast does (int8 calibrated on the random
# images) and runs the fastest.
FAST_MODES = {
    'fast': dict(dtype='auto'),
    'fast-fp32': dict(dtype='float32'),
    'fast-bf16': dict(dtype='bfloat16'),
    'compile': dict(dtype='auto', compile=True),
    'compile-fp32': dict(dtype='float32', compile=True),
    'compile-bf16': dict(dtype='bfloat16', compile=True),
}
# the limit probe skips matrix sizes whose one multiply would take longer
# (emulated bfloat16 multiplies 4096-square matrices in 7 s or more)
MAX_PROBE_CALL_S = 1.0
# sides of the limit probe's square matrices, smallest first
PROBE_SIZES = (256, 1024, 2048, 4096)
MODES = ['fp32', *FAST_MODES, 'onnx', 'onnx-int8']
CALIBRATION_IMAGES = 8


def median_seconds(fn: Callable[[], object], warmup: int,
                   repeat: int) -> float:
    """Median wall time of ``fn()`` over ``repeat`` calls after ``warmup``.

    Args:
        fn (Callable): The function to time, called without arguments.
        warmup (int): Untimed calls first.
        repeat (int): Timed calls.

    Returns:
        float: The median time of one call, in seconds.
    """
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _fastest(fn: Callable[[], object], repeat: int) -> float:
    """The shortest of ``repeat`` timed calls of ``fn``, after one more."""
    fn()
    return min(median_seconds(fn, 0, 1) for _ in range(repeat))


def _onnxruntime_matmul(size: int, threads: int) -> Callable[[], object]:
    """A ``size``-square float32 MatMul in ONNX Runtime."""
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
    b = numpy_helper.from_array(
        np.random.rand(size, size).astype(np.float32), 'b')
    graph = helper.make_graph(
        [helper.make_node('MatMul', ['a', 'b'], ['c'])], 'matmul',
        [helper.make_tensor_value_info('a', TensorProto.FLOAT, [size, size])],
        [helper.make_tensor_value_info('c', TensorProto.FLOAT, [size, size])],
        [b])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(
        helper.make_model(graph).SerializeToString(), options,
        providers=['CPUExecutionProvider'])
    a = np.random.rand(size, size).astype(np.float32)
    return lambda: session.run(None, {'a': a})


def _matmul_probes(dtype: torch.dtype, threads: int) -> Dict[str, tuple]:
    """Per library, a builder of its ``size``-square multiply and its flop
    count."""

    def mm(size):
        a, b = (torch.randn(size, size).to(dtype) for _ in range(2))
        return lambda: torch.mm(a, b)

    def conv1x1(size):
        conv = torch.nn.Conv2d(size, size, 1, bias=False).to(dtype)
        conv = conv.to(memory_format=torch.channels_last)
        # (1, size, 64, 64): a (4096, size) x (size, size) product
        pixels = torch.randn(1, size, 64, 64).to(dtype).contiguous(
            memory_format=torch.channels_last)
        return lambda: conv(pixels)

    probes = {
        'torch.mm': (mm, lambda size: 2 * size**3),
        'onednn_conv1x1': (conv1x1, lambda size: 2 * 4096 * size**2),
    }
    if dtype == torch.float32:
        probes['onnxruntime'] = (
            lambda size: _onnxruntime_matmul(size, threads),
            lambda size: 2 * size**3)
    return probes


def probe_fits(flops: float, gflops: float,
               max_call_s: float = MAX_PROBE_CALL_S) -> bool:
    """Whether a multiply of ``flops`` at the ``gflops`` measured so far
    takes at most ``max_call_s``."""
    return flops / (gflops * 1e9) <= max_call_s


def matmul_gflops(dtype: torch.dtype,
                  sizes: Sequence[int] = PROBE_SIZES,
                  repeat: int = 5,
                  max_call_s: float = MAX_PROBE_CALL_S) -> Dict[str, float]:
    """The machine's matrix-multiply limit in ``dtype``, per library.

    Each library multiplies square matrices of every size; its figure is
    its best GFLOP/s, each size timed as the fastest of ``repeat`` calls.
    The libraries: ``torch.mm`` (MKL for float32, oneDNN for bfloat16), a
    1x1 convolution in oneDNN (a matrix multiply of the pixels by the
    weights, the kernel family the networks' convolutions run on) and, for
    float32, ONNX Runtime. They differ by CPU: on AMD, MKL's float32 path
    is about 25 % below oneDNN's. The limit is the best of them. Sizes are
    taken smallest first; a library leaves a larger one out when, at the
    rate its smaller ones gave, one multiply would take over
    ``max_call_s``, so the probe takes seconds where a dtype is emulated.

    Args:
        dtype (torch.dtype): ``torch.float32`` or ``torch.bfloat16``.
        sizes (Sequence[int]): Sides of the square matrices.
            Defaults to :data:`PROBE_SIZES`.
        repeat (int): Timed calls per size and library. Defaults to 5.
        max_call_s (float): Longest predicted multiply of a size after the
            first. Defaults to :data:`MAX_PROBE_CALL_S`.

    Returns:
        dict[str, float]: The best GFLOP/s of every library, on torch's
        current number of threads.
    """
    best = {}
    probes = _matmul_probes(dtype, torch.get_num_threads())
    for size in sorted(sizes):
        for name, (build, flops_of) in probes.items():
            flops = flops_of(size)
            # each library at the rate its smaller sizes gave
            if name in best and not probe_fits(flops, best[name],
                                               max_call_s):
                continue
            with torch.inference_mode():
                gflops = flops / _fastest(build(size), repeat) / 1e9
            best[name] = max(best.get(name, 0.0), gflops)
    return best


def input_size(cfg, size: int = 0) -> int:
    """The square input side a config tests at.

    Args:
        cfg (Config): The config; its test Resize becomes ``size`` x
            ``size`` (without keeping the ratio) if ``size`` is non-zero.
        size (int): The side to test at; 0 keeps the config's. Defaults
            to 0.

    Returns:
        int: ``size``, or the longer side of the config's test scale.
    """
    for step in cfg.test_dataloader.dataset.pipeline:
        if 'scale' in step:
            if size:
                step.update(scale=(size, size), keep_ratio=False)
            return size or max(step['scale'])
    raise ValueError('the test pipeline of the config has no Resize scale')


def gflops_of(model: torch.nn.Module, size: int) -> float:
    """GFLOPs (2 per multiply-accumulate counted by mmengine's analyzer) of
    ``model`` on one ``size`` x ``size`` image."""
    from mmengine.analysis import FlopAnalyzer
    analyzer = FlopAnalyzer(model, (torch.rand(1, 3, size, size), ))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return 2 * analyzer.total() / 1e9


def forward_seconds(forward: Callable, size: int, batches: List[int],
                    warmup: int, repeat: int) -> Dict[int, float]:
    """Median time of ``forward`` on random 0-255 pixels at each batch size.

    Args:
        forward (Callable): Takes an ``(N, 3, size, size)`` tensor.
        size (int): The square input side.
        batches (list[int]): The batch sizes N.
        warmup (int): Untimed calls per batch size.
        repeat (int): Timed calls per batch size.

    Returns:
        dict[int, float]: Seconds per call, by batch size.
    """
    times = {}
    with torch.inference_mode():
        for batch in batches:
            x = torch.rand(batch, 3, size, size) * 255
            times[batch] = median_seconds(lambda: forward(x), warmup, repeat)
    return times


def measure_official(size: int, official_repo: str, batches: List[int],
                     warmup: int, repeat: int) -> dict:
    """Forward figures of the official M2Det-VGG16 at ``size``.

    Args:
        size (int): The square input side.
        official_repo (str): A checkout of the official M2Det, imported by
            :func:`projects.m2det.converters.official_network.
            import_official`.
        batches (list[int]): The batch sizes to time.
        warmup (int): Untimed calls per batch size.
        repeat (int): Timed calls per batch size.

    Returns:
        dict: The figures of :func:`measure_config`; no end-to-end time and
        no error, since the official code has no test pipeline here.
    """
    from pathlib import Path

    from ..converters.official_network import VGG_CONFIG, import_official
    official = import_official(Path(official_repo).resolve())
    net = official.build_net('test', size, VGG_CONFIG).eval()
    # the official BGR mean, subtracted as in our forward
    mean = torch.tensor([104., 117., 123.]).view(1, 3, 1, 1)
    forward = forward_seconds(lambda x: net(x - mean), size, batches, warmup,
                              repeat)
    return dict(
        config=f'official M2Det-VGG16-{size}',
        mode='fp32',
        precision='float32',
        input_size=size,
        params=sum(p.numel() for p in net.parameters()),
        threads=torch.get_num_threads(),
        gflops=gflops_of(net, size),
        forward_s=forward,
        throughput_img_s={b: b / s for b, s in forward.items()},
        end_to_end_s=None,
        max_rel_error_vs_fp32=None)


def network_outputs(forward: Callable, x: torch.Tensor) -> torch.Tensor:
    """The head's raw outputs ``forward(x)``, flattened into one vector."""
    with torch.inference_mode():
        outputs = forward(x)
    return torch.cat([torch.as_tensor(o).flatten() for o in outputs])


def relative_error(out: torch.Tensor, ref: torch.Tensor) -> float:
    """Largest absolute difference of ``out`` from ``ref`` relative to the
    largest magnitude in ``ref``."""
    return ((out - ref).abs().max() / ref.abs().max()).item()


def onnx_detector(model: torch.nn.Module, size: int, threads: int,
                  directory: str, int8: bool = False):
    """``model``'s network exported and loaded in ONNX Runtime.

    Args:
        model (nn.Module): A detector with its config as ``model.cfg``.
        size (int): The square input side of the exported graph.
        threads (int): ONNX Runtime's intra-op threads.
        directory (str): Where to write ``model.onnx``.
        int8 (bool): Whether to quantize the graph, calibrated on
            :data:`CALIBRATION_IMAGES` seeded random images. Defaults to
            False.

    Returns:
        OnnxDetector: The graph with the config's pre- and post-processing.
    """
    from ..deploy import OnnxDetector, export_onnx
    path = osp.join(directory, 'model.onnx')
    export_onnx(model, path, (size, size))
    if int8:
        from ..deploy.quantize import quantize_int8
        quantize_int8(path, osp.join(directory, 'model_int8.onnx'),
                      random_images(size))
        path = osp.join(directory, 'model_int8.onnx')
    return OnnxDetector(path, model.cfg, threads)


def random_images(size: int) -> list:
    """:data:`CALIBRATION_IMAGES` seeded random 0-255 images
    ``(1, 3, size, size)``, as numpy arrays."""
    generator = torch.Generator().manual_seed(0)
    return [(torch.rand(1, 3, size, size, generator=generator) *
             255).numpy() for _ in range(CALIBRATION_IMAGES)]


def measure_config(config: str, checkpoint: Optional[str], size: int,
                   image: str, batches: List[int], warmup: int, repeat: int,
                   mode: str) -> dict:
    """All figures of one config in one mode.

    Args:
        config (str): A config file, or ``mmdet::PATH`` for mmdet's own.
        checkpoint (str, optional): Weights to load; None: random ones.
        size (int): The square input side; 0: the config's own.
        image (str): The image file of the end-to-end latency.
        batches (list[int]): The batch sizes of the forward latency.
        warmup (int): Untimed calls before every timing.
        repeat (int): Timed calls of every timing (their median counts).
        mode (str): One of :data:`MODES`.

    Returns:
        dict: The config's path, mode, precision (for ``fast``: the backend
        it chose, with ``backend_choice`` the log line of the choice),
        input size, parameter count, threads, GFLOPs, forward seconds and
        throughput by batch size, end-to-end seconds and the largest
        relative error of the head's outputs against the float32 model
        (None in fp32).
    """
    from mmcv.transforms import Compose
    from mmdet.apis import inference_detector, init_detector
    from mmdet.utils import get_test_pipeline_cfg
    from mmengine.config import Config

    from ..compat import apply_fixes

    # our configs apply the fixes through custom_imports, mmdet's do not
    # (their SSDHead.predict fails without them)
    apply_fixes()
    if config.startswith('mmdet::'):
        # mmdet's own configs, as `_base_` and mim name them
        import mmdet
        config = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs',
                          config[len('mmdet::'):])
    cfg = Config.fromfile(config)
    size = input_size(cfg, size)
    # the same random weights in every round: the boxes NMS gets from
    # them, and so the end-to-end time, depend on them
    torch.manual_seed(0)
    model = init_detector(cfg, checkpoint, device='cpu').eval()
    flops = gflops_of(model, size)
    params = sum(p.numel() for p in model.parameters())
    # agreement with the float32 model on fixed random pixels
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(
        0)) * 255
    normalized = model.data_preprocessor(dict(inputs=x), False)['inputs']
    reference = network_outputs(lambda x: sum(model._forward(x), []),
                                normalized)
    error, precision, choice = None, 'float32', None
    with tempfile.TemporaryDirectory() as directory:
        if mode in ('onnx', 'onnx-int8'):
            detector = onnx_detector(model, size, torch.get_num_threads(),
                                     directory, int8=mode == 'onnx-int8')
            forward_fn = lambda x: detector.run(x.numpy())  # noqa: E731
            error = relative_error(network_outputs(forward_fn, x), reference)
            precision = 'int8' if mode == 'onnx-int8' else 'float32'
            predict = detector
        else:

            def forward_fn(x):
                return sum(model._forward(
                    model.data_preprocessor(dict(inputs=x), False)['inputs']),
                    [])

            if mode != 'fp32':
                from ..deploy import optimize_for_inference
                optimize_for_inference(model, **FAST_MODES[mode],
                                       calibration=random_images(size))
                precision = model.fast_inference.backend
                choice = model.fast_inference.summary()
                # compilation happens on the first call, never timed
                warmup = max(warmup, 1)
                error = relative_error(network_outputs(forward_fn, x),
                                       reference)

            # built once, as mmdet's DetInferencer does; inference_detector
            # would rebuild it for every image
            pipeline = Compose(get_test_pipeline_cfg(cfg))

            def predict(image):
                return inference_detector(model, image, pipeline)

        forward = forward_seconds(forward_fn, size, batches, warmup, repeat)
        with torch.inference_mode():
            end_to_end = median_seconds(lambda: predict(image), warmup,
                                        repeat)
    return dict(
        config=config,
        mode=mode,
        precision=precision,
        backend_choice=choice,
        input_size=size,
        params=params,
        threads=torch.get_num_threads(),
        gflops=flops,
        forward_s=forward,
        throughput_img_s={b: b / s for b, s in forward.items()},
        end_to_end_s=end_to_end,
        max_rel_error_vs_fp32=error)


def measure(config: str, checkpoint: Optional[str], size: int, mode: str,
            image: str, batches: List[int], warmup: int, repeat: int,
            threads: int, official_repo: Optional[str] = None) -> dict:
    """The figures of one row, with the process's peak memory.

    Meant for a fresh process (the worker), so that the peak is the row's.

    Args:
        config (str): As :func:`measure_config`, or ``official:SIZE`` for
            :func:`measure_official`.
        checkpoint (str, optional): Weights of the config; None: random.
        size (int): The square input side; 0: the config's own.
        mode (str): One of :data:`MODES`.
        image (str): The image file of the end-to-end latency.
        batches (list[int]): The batch sizes of the forward latency.
        warmup (int): Untimed calls before every timing.
        repeat (int): Timed calls of every timing.
        threads (int): Torch's intra-op threads.
        official_repo (str, optional): The official checkout, for
            ``official:SIZE``. Defaults to None.

    Returns:
        dict: The figures, with ``peak_rss_mib`` added.
    """
    torch.set_num_threads(threads)
    if config.startswith('official:'):
        result = measure_official(int(config.split(':')[1]), official_repo,
                                  batches, warmup, repeat)
    else:
        result = measure_config(config, checkpoint, size, image, batches,
                                warmup, repeat, mode)
    # ru_maxrss is in KiB on Linux
    result['peak_rss_mib'] = resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def main() -> None:
    """The worker: measure the job given as json in ``sys.argv[1]``."""
    print(json.dumps(measure(**json.loads(sys.argv[1]))))


if __name__ == '__main__':
    main()
