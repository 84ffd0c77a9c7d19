# Ablation: the base feature feeds the first TUM only; later TUMs read just
# the previous TUM's largest output (the paper's "+ 8 TUMs" row).
_base_ = '../m2det_vgg16_320.py'
model = dict(neck=dict(base_to_all_levels=False))
