"""Helpers for the tests of the command-line tools and of the mini-benchmark configs."""
import importlib.util
import os.path as osp
from types import ModuleType

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_tool(*parts: str) -> ModuleType:
    """Import ``tools/<parts>.py`` as a module (the tools are scripts, not a package), e.g.
    ``load_tool('experiments', 'universal_study')``."""
    tools = osp.join(REPO, 'tools')
    spec = importlib.util.spec_from_file_location(parts[-1], osp.join(tools, *parts[:-1], f'{parts[-1]}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shrink_mini_train_sets(leaves, num_train: int, size_range=(64, 80), crop: int = 64) -> None:
    """Make mini-benchmark training set configs CPU-test sized, in place: ``num_train`` generated images
    of ``size_range`` pixels, resized and cropped to ``crop`` x ``crop``."""
    for leaf in leaves:
        leaf.update(num_train=num_train, num_test=1, size_range=tuple(size_range))
        for step in leaf.pipeline:
            if step.type == 'RandomResize':
                step.scale = [(256, size_range[0]), (256, size_range[1])]
            elif step.type == 'RandomCrop':
                step.crop_size = (crop, crop)
