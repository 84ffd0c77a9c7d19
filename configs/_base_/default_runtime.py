default_scope = 'mmdet'
# the first registers M2Det's modules in mmdet's registries; the second
# applies the fixes to mmdet 3.3 and mmengine 0.10.7 (docs/upstream_fixes.md)
custom_imports = dict(
    imports=['projects.m2det', 'projects.m2det.compat.apply_all'],
    allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='DetVisualizationHook'),
    # tools/test.py --fast: BN folded into convs, channels-last, bfloat16
    fast_inference=dict(type='FastInferenceHook', enabled=False))
custom_hooks = [
    dict(type='NumClassCheckHook'),
    # stops at the first NaN / infinite loss, naming the iteration and terms
    dict(type='StopOnInvalidLossHook')
]

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='DetLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)

log_level = 'INFO'
load_from = None
resume = False
