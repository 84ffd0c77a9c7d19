from .fast_inference_hook import FastInferenceHook
from .invalid_loss_hook import StopOnInvalidLossHook

__all__ = ['FastInferenceHook', 'StopOnInvalidLossHook']
