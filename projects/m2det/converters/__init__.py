"""Weights of the official code: conversion of its checkpoints, the seeded
official-format weights of the equivalence tests, and the import of the
official network from a checkout (for the reference and benchmark tools)."""
from .official_weights import (OFFICIAL_ANCHOR_ORDER, check_against_model,
                               convert_official_state_dict, num_classes_of,
                               permute_head_channels)

__all__ = [
    'OFFICIAL_ANCHOR_ORDER', 'check_against_model',
    'convert_official_state_dict', 'num_classes_of', 'permute_head_channels'
]
