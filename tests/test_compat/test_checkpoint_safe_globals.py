"""mmengine's checkpoints load under torch's weights-only default, through
mmengine's loader only; a pickle that calls anything else is refused."""
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner.checkpoint import _load_checkpoint

from projects.m2det.compat import apply_fixes


@pytest.fixture(scope='module', autouse=True)
def fix_applied():
    assert apply_fixes(['checkpoint_safe_globals']) == {
        'checkpoint_safe_globals': True
    }


def mmengine_checkpoint(path) -> dict:
    """What mmengine's runner saves: weights, a message hub of
    HistoryBuffers with numpy statistics, and numpy scalars in the meta."""
    hub = MessageHub('test_checkpoint')
    for step in range(3):
        hub.update_scalar('train/loss', np.float64(1.0 / (step + 1)))
    hub.update_info('iter', 3)
    checkpoint = dict(
        meta=dict(epoch=1, iter=3, seed=np.int64(7),
                  dataset_meta=dict(classes=('a', 'b'))),
        state_dict=dict(weight=torch.arange(4.)),
        message_hub=hub.state_dict())
    torch.save(checkpoint, path)
    return checkpoint


def test_mmengine_checkpoint_loads_through_mmengine(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    saved = mmengine_checkpoint(path)
    loaded = _load_checkpoint(str(path), map_location='cpu')
    assert torch.equal(loaded['state_dict']['weight'], torch.arange(4.))
    assert loaded['meta']['seed'] == 7
    buffer = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.mean() == pytest.approx(
        saved['message_hub']['log_scalars']['train/loss'].mean())
    assert buffer.statistics('max') == pytest.approx(1.0)


def test_allowlist_is_scoped_to_mmengine_loading(tmp_path):
    """Outside mmengine's loader torch stays as strict as it ships."""
    path = tmp_path / 'epoch_1.pth'
    mmengine_checkpoint(path)
    before = set(torch.serialization.get_safe_globals())
    _load_checkpoint(str(path), map_location='cpu')
    assert set(torch.serialization.get_safe_globals()) == before
    with pytest.raises(pickle.UnpicklingError,
                       match='was not an allowed global'):
        torch.load(path)


class RunsACommand:
    """A pickle that calls ``os.system`` when it is loaded."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


class CallsGetattr:
    """A pickle that asks getattr for something other than a statistics
    method of HistoryBuffer."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


def test_pickle_calling_a_command_is_refused(tmp_path):
    marker = tmp_path / 'ran'
    path = tmp_path / 'crafted.pth'
    torch.save(dict(state_dict={}, payload=RunsACommand(marker)), path)
    with pytest.raises(pickle.UnpicklingError) as error:
        _load_checkpoint(str(path), map_location='cpu')
    message = str(error.value)
    assert str(path) in message
    assert 'system' in message
    assert 'weights_only=False' in message
    assert not marker.exists()


def test_getattr_beyond_statistics_methods_is_refused(tmp_path):
    path = tmp_path / 'crafted.pth'
    torch.save(dict(state_dict={}, payload=CallsGetattr()), path)
    with pytest.raises(pickle.UnpicklingError,
                       match=r"getattr\(.*HistoryBuffer.*'__init__'\)"):
        _load_checkpoint(str(path), map_location='cpu')
