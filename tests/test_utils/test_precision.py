"""The one precision decision behind fast inference and mixed-precision
training, for both answers of the CPU capability."""
import pytest
import torch

from projects.m2det.utils import (cpu_has_native_bfloat16, default_dtype,
                                  resolve_dtype, training_precision)


def test_this_cpu_is_asked_when_the_capability_is_not_given():
    native = cpu_has_native_bfloat16()
    assert native == torch.ops.mkldnn._is_mkldnn_bf16_supported()
    assert default_dtype() == ('bfloat16' if native else 'float32')
    assert resolve_dtype('auto') == default_dtype()
    assert training_precision('cpu') == default_dtype()


@pytest.mark.parametrize('native, dtype', [(True, 'bfloat16'),
                                           (False, 'float32')])
def test_bfloat16_only_where_native(native, dtype):
    assert default_dtype(native) == dtype
    assert resolve_dtype('auto', native) == dtype
    assert training_precision('cpu', native) == dtype
    # an explicit choice is kept whatever the CPU
    assert resolve_dtype('bfloat16', native) == 'bfloat16'
    assert resolve_dtype('float32', native) == 'float32'


@pytest.mark.parametrize('native', [True, False])
def test_accelerators_keep_float16_amp(native):
    assert training_precision('cuda', native) == 'float16'


def test_unknown_dtype_is_refused():
    with pytest.raises(ValueError, match=r"one of \['float32', 'bfloat16', "
                       r"'auto'\], got 'float16'"):
        resolve_dtype('float16')
