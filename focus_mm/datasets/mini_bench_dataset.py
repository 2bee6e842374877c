"""The bundled mini-benchmark as a dataset: generated on first use, then read like any other set."""
from typing import Optional, Sequence

from mmseg.registry import DATASETS

from .foreground_dataset import ForegroundDataset
from .mini_bench import ensure_mini_bench


@DATASETS.register_module()
class MiniBenchDataset(ForegroundDataset):
    """One split of one task of the mini-benchmark (see :mod:`focus_mm.datasets.mini_bench`).

    On construction the task's cache ``<root>/<task>`` is generated if it is missing or was built
    with other parameters (seconds on a CPU; safe when several processes start together); after
    that it is an ordinary :class:`ForegroundDataset` over ``<split>/images`` and ``<split>/masks``.

    Args:
        task (str): 'sod', 'cod', 'sd', 'dbd' or 'fd'.
        split (str): 'train' or 'test'. Defaults to 'train'.
        data_root (str, optional): the cache folder holding the task folders. Defaults to
            ``$FOCUS_DATA/mini_bench`` or ``data/mini_bench`` (relative to the working directory).
        num_train (int): training images. Defaults to 60.
        num_test (int): test images. Defaults to 20.
        size_range (Sequence[int]): inclusive range of image height and width. Defaults to (256, 320).
        seed (int): generator seed. Defaults to 0.
        **kwargs: the other :class:`ForegroundDataset` arguments (``pipeline``, ``test_mode``...).
    """

    def __init__(self,
                 task: str,
                 split: str = 'train',
                 data_root: Optional[str] = None,
                 num_train: int = 60,
                 num_test: int = 20,
                 size_range: Sequence[int] = (256, 320),
                 seed: int = 0,
                 **kwargs) -> None:
        if split not in ('train', 'test'):
            raise KeyError(f'MiniBenchDataset: split must be "train" or "test", got {split!r}.')
        for key in ('data_prefix', 'img_suffix', 'seg_map_suffix'):
            if key in kwargs:
                raise TypeError(f'MiniBenchDataset sets `{key}` itself; remove it from the config.')
        self.task, self.split = task, split
        task_root = ensure_mini_bench(
            task, root=data_root, num_train=num_train, num_test=num_test, size_range=tuple(size_range),
            seed=seed)
        kwargs.setdefault('dataset_name', f'mini_{task}_{split}')
        kwargs.setdefault('task', task)  # every sample carries its task (for universal models)
        super().__init__(
            data_root=task_root,
            data_prefix=dict(img_path=f'{split}/images', seg_map_path=f'{split}/masks'),
            img_suffix='.png',
            seg_map_suffix='.png',
            expected_size=num_train if split == 'train' else num_test,
            **kwargs)
