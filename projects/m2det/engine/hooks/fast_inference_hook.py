"""Fast inference in ``tools/test.py --fast``: the hook that calls
:func:`projects.m2det.deploy.optimize_for_inference` once the checkpoint is
loaded."""
import os.path as osp
from typing import Optional

from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ...deploy.onnx_network import use_onnx_network
from ...deploy.optimize import CALIBRATION_IMAGES, optimize_for_inference


@HOOKS.register_module()
class FastInferenceHook(Hook):
    """Apply :func:`optimize_for_inference` before a test run.

    Every config has it as ``default_hooks.fast_inference``, disabled;
    ``tools/test.py CONFIG CKPT --fast`` or ``--cfg-options
    default_hooks.fast_inference.enabled=True`` turns it on. It acts only on
    ``tools/test.py`` runs, after the checkpoint is loaded; validation during
    training is left in float32. With ``dtype='auto'`` the backend is the
    fastest measured on this CPU, int8 calibrated on the config's training
    images among them; the int8 graph is kept in ``WORK_DIR/fast_inference``
    for the next run of the same checkpoint.

    Args:
        enabled (bool): Whether to optimize. Defaults to False.
        dtype (str): ``'auto'``, ``'bfloat16'``, ``'float32'`` or
            ``'int8'``; see :func:`optimize_for_inference`. Defaults to
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
        calibration_images (int): Training images int8 is calibrated on.
            Defaults to 32.
    """

    def __init__(self,
                 enabled: bool = False,
                 dtype: str = 'auto',
                 channels_last: bool = True,
                 compile: bool = False,
                 onnx_file: Optional[str] = None,
                 calibration_images: int = CALIBRATION_IMAGES) -> None:
        self.enabled = enabled
        self.dtype = dtype
        self.channels_last = channels_last
        self.compile = compile
        self.onnx_file = onnx_file
        self.calibration_images = calibration_images

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
        optimize_for_inference(
            model, self.dtype, self.channels_last, self.compile, runner.cfg,
            self.calibration_images,
            osp.join(runner.work_dir, 'fast_inference'))
        runner.logger.info(
            f'fast inference: {model.fast_inference.summary()}'
            f"{', torch.compile' if self.compile else ''}")
