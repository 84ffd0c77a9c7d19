"""The official M2Det network, imported from a checkout outside this
repository at run time (never copied here).

``tools/misc/make_official_reference.py`` runs it once to write the test
reference data; ``tools/analysis_tools/benchmark_cpu.py`` times it beside
ours (``official:SIZE``).
"""
import importlib.util
import sys
import types
from pathlib import Path

# m2det320_vgg.py of the official code, which its loader reads with mmcv 0.x
VGG_CONFIG = dict(
    backbone='vgg16',
    net_family='vgg',
    base_out=[22, 34],
    planes=256,
    num_levels=8,
    num_scales=6,
    sfam=False,
    smooth=True,
    num_classes=81)
# m2det320_resnet101.py: the same but for its backbone
RESNET101_CONFIG = dict(
    VGG_CONFIG, backbone='resnet101', net_family='res', base_out=[2, 4])
INPUT_SIZE = 320
STEP_PATTERN = [8, 16, 32, 64, 107, 320]
SIZE_PATTERN = [0.08, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05]


def import_official(root: Path) -> types.SimpleNamespace:
    """Import the official model, prior box, decoder and training loss from
    ``root``.

    Only the model's own files are imported. ``torchvision`` (imported but
    unused by ``m2det.py``) and ``utils.core`` (which pulls in the data
    pipeline, compiled NMS and ``termcolor``, for a logging helper) are
    replaced by stubs; ``data/anchors.py`` is loaded on its own because
    ``data/__init__.py`` imports the datasets.
    """
    sys.path.insert(0, str(root))
    torchvision = types.ModuleType('torchvision')
    torchvision.transforms = types.ModuleType('torchvision.transforms')
    torchvision.models = types.ModuleType('torchvision.models')
    core = types.ModuleType('utils.core')
    core.print_info = lambda *args, **kwargs: None
    sys.modules.update({
        'torchvision': torchvision,
        'torchvision.transforms': torchvision.transforms,
        'torchvision.models': torchvision.models,
        'utils.core': core,
    })
    spec = importlib.util.spec_from_file_location('official_anchors',
                                                  root / 'data' / 'anchors.py')
    anchors = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(anchors)

    import m2det
    from layers import resnet
    from layers.functions import Detect, PriorBox
    from layers.modules import MultiBoxLoss
    from utils.box_utils import match, point_form

    # the ResNet backbones start an ImageNet download when built pretrained
    resnet101 = resnet.resnet101
    resnet.resnet101 = lambda pretrained: resnet101(False)
    return types.SimpleNamespace(
        build_net=m2det.build_net, Detect=Detect, PriorBox=PriorBox,
        MultiBoxLoss=MultiBoxLoss, match=match, point_form=point_form,
        mk_anchors=anchors.mk_anchors)
