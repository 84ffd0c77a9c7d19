"""Fast inference in ``tools/test.py --fast``: the hook that calls
:func:`projects.m2det.deploy.optimize_for_inference` once the checkpoint is
loaded."""
from typing import Optional

from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ...deploy.fast_inference import optimize_for_inference
from ...deploy.onnx_network import use_onnx_network
from ...utils.precision import resolve_dtype


@HOOKS.register_module()
class FastInferenceHook(Hook):
    """Apply :func:`optimize_for_inference` before a test run.

    Every config has it as ``default_hooks.fast_inference``, disabled;
    ``tools/test.py CONFIG CKPT --fast`` or ``--cfg-options
    default_hooks.fast_inference.enabled=True`` turns it on. It acts only on
    ``tools/test.py`` runs, after the checkpoint is loaded; validation during
    training is left in float32.

    Args:
        enabled (bool): Whether to optimize. Defaults to False.
        dtype (str): See :func:`optimize_for_inference`. Defaults to
            ``'auto'``.
        channels_last (bool): See :func:`optimize_for_inference`. Defaults
            to True.
        compile (bool): See :func:`optimize_for_inference`. Defaults to
            False.
        onnx_file (str, optional): A network graph of this config (float32,
            or int8 from ``tools/deployment/quantize_int8.py``) to run in
            ONNX Runtime instead (:func:`use_onnx_network`); ``dtype``,
            ``channels_last`` and ``compile`` then do not apply. Defaults to
            None.
    """

    def __init__(self,
                 enabled: bool = False,
                 dtype: str = 'auto',
                 channels_last: bool = True,
                 compile: bool = False,
                 onnx_file: Optional[str] = None) -> None:
        self.enabled = enabled
        self.dtype = dtype
        self.channels_last = channels_last
        self.compile = compile
        self.onnx_file = onnx_file

    def before_test(self, runner) -> None:
        """Optimize the loaded model."""
        if not self.enabled:
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        if self.onnx_file:
            use_onnx_network(model, self.onnx_file)
            runner.logger.info(
                f'fast inference: the network in ONNX Runtime, '
                f'{self.onnx_file}')
            return
        dtype = resolve_dtype(self.dtype)
        optimize_for_inference(model, dtype, self.channels_last, self.compile)
        runner.logger.info(
            f'fast inference: BN folded, {dtype}'
            f"{', channels-last' if self.channels_last else ''}"
            f"{', torch.compile' if self.compile else ''}")
