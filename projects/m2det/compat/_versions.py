"""Version gates of the fixes: read from the imported packages, so that a
test can state other versions."""
from types import ModuleType

from mmengine.utils import digit_version


def at_most(package: ModuleType, version: str) -> bool:
    """Whether ``package.__version__`` is ``version`` or older."""
    return digit_version(package.__version__) <= digit_version(version)


def at_least(package: ModuleType, version: str) -> bool:
    """Whether ``package.__version__`` is ``version`` or newer."""
    return digit_version(package.__version__) >= digit_version(version)
