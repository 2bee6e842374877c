"""A folder of images and a folder of binary foreground masks (SOD, COD, shadow, defocus, forgery)."""
import fnmatch
import logging
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

import mmengine
from mmengine import fileio
from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from ..tasks import TASK_KEY, check_task

#: how many unmatched names an error message lists.
_NAMES_SHOWN = 5


def _as_tuple(suffix: Union[str, Sequence[str]]) -> Tuple[str, ...]:
    return (suffix, ) if isinstance(suffix, str) else tuple(suffix)


def _matching_suffix(name: str, suffixes: Tuple[str, ...]) -> Optional[str]:
    """The suffix (as configured) that ``name`` ends with, compared case-insensitively; longest first."""
    lower = name.lower()
    for suffix in sorted(suffixes, key=len, reverse=True):  # longest first: '_gt.png' before '.png'
        if lower.endswith(suffix.lower()):
            return suffix
    return None


def _strip_suffix(name: str, suffixes: Tuple[str, ...]) -> str:
    suffix = _matching_suffix(name, suffixes)
    return name if suffix is None else name[:len(name) - len(suffix)]


@DATASETS.register_module()
class ForegroundDataset(BaseSegDataset):
    """Binary foreground segmentation: an image folder and a mask folder, paired by file name.

    Images are listed (recursively) under ``data_prefix['img_path']`` with one of ``img_suffix``,
    compared case-insensitively (``B.JPG`` is an image for ``'.jpg'``); the mask of
    ``<dir>/<stem><img_suffix>`` is ``<seg_map_path>/<dir>/<stem><seg_map_suffix>`` (its suffix in any
    case too). Masks
    are binarised at ``> 128`` by :class:`LoadForegroundMask` (classes: background 0, foreground 1).
    The mask folder may hold more masks than there are images (e.g. CAMO's ``GT`` serves both splits),
    and may be the image folder itself (PASCAL-S ships ``.jpg`` and ``.png`` side by side).

    Building the dataset fails, with the count and the first few names, when the image folder is
    missing or empty, or when images have no mask. A loaded dataset whose size differs from
    ``expected_size`` (the count of the official release) only warns, since subsets are legitimate.

    Args:
        img_suffix (str | Sequence[str]): image file endings, e.g. ``('.jpg', '.tif')``.
            Defaults to '.jpg'.
        seg_map_suffix (str | Sequence[str]): mask file ending(s), e.g. '.png' or '_gt.png'; with
            several, the first that exists is used. Defaults to '.png'.
        name_filter (str | Sequence[str], optional): fnmatch pattern(s) on the image's relative stem;
            only matching images are kept (e.g. ``'COD10K-CAM-*'`` keeps COD10K's camouflaged
            images). Defaults to None (all).
        expected_size (int, optional): the image count of the official release; a mismatch warns.
            Defaults to None (no check).
        dataset_name (str, optional): the name that metrics group results by (put into every
            sample's ``dataset_name``). Defaults to the last folder name of ``data_root``.
        task (str, optional): the set's task, 'sod', 'cod', 'sd', 'dbd' or 'fd', put into every
            sample's ``task`` (a universal model and the multi-task metric read it; keep ``'task'`` in
            ``PackSegInputs.meta_keys``). Defaults to None (no ``task`` key).
        **kwargs: the arguments of :class:`mmseg.datasets.BaseSegDataset` (``data_root``,
            ``data_prefix=dict(img_path=..., seg_map_path=...)``, ``pipeline``, ``ann_file``
            (a text file of stems, one per line), ``test_mode``, ...).
    """

    METAINFO = dict(classes=('background', 'foreground'), palette=[[0, 0, 0], [255, 255, 255]])

    def __init__(self,
                 img_suffix: Union[str, Sequence[str]] = '.jpg',
                 seg_map_suffix: Union[str, Sequence[str]] = '.png',
                 name_filter: Optional[Union[str, Sequence[str]]] = None,
                 expected_size: Optional[int] = None,
                 dataset_name: Optional[str] = None,
                 task: Optional[str] = None,
                 **kwargs) -> None:
        self.task = None if task is None else check_task(task, who=type(self).__name__)
        self.name_filter = None if name_filter is None else _as_tuple(name_filter)
        self.expected_size = expected_size
        data_root = kwargs.get('data_root')
        default_name = osp.basename(osp.normpath(data_root)) if data_root else 'dataset'
        self.dataset_name = dataset_name or default_name
        if kwargs.get('reduce_zero_label'):
            raise ValueError('ForegroundDataset: reduce_zero_label=True would turn background into ignore; '
                             'foreground masks are 0 = background, 1 = foreground. Remove the option.')
        super().__init__(img_suffix=_as_tuple(img_suffix), seg_map_suffix=_as_tuple(seg_map_suffix), **kwargs)

    # ---------------------------------------------------------------------------------------------
    def _list_files(self, folder: str, suffixes: Tuple[str, ...], role: str) -> List[str]:
        """Relative paths of the files under ``folder`` ending in one of ``suffixes``."""
        is_local = fileio.get_file_backend(folder, backend_args=self.backend_args).name == 'LocalBackend'
        if is_local and not osp.isdir(folder):
            raise FileNotFoundError(
                f'{type(self).__name__} ({self.dataset_name}): the {role} folder {folder!r} does not exist. '
                'Check `data_root` / `data_prefix` against docs/user_guides/dataset_prepare.md.')
        # mmengine's suffix filter is case-sensitive: list everything, match the suffix in any case.
        names = fileio.list_dir_or_file(
            folder, list_dir=False, recursive=True, backend_args=self.backend_args)
        return sorted(n for n in names if _matching_suffix(n, suffixes) is not None)

    def _keep(self, stem: str) -> bool:
        if self.name_filter is None:
            return True
        base = osp.basename(stem)
        return any(fnmatch.fnmatchcase(stem, p) or fnmatch.fnmatchcase(base, p) for p in self.name_filter)

    def _image_names(self, img_dir: str) -> List[str]:
        """Relative image file names, from ``ann_file`` (stems) or by listing ``img_dir``."""
        if self.ann_file and not osp.isdir(self.ann_file):
            if not fileio.exists(self.ann_file, backend_args=self.backend_args):
                raise FileNotFoundError(f'{type(self).__name__}: ann_file {self.ann_file!r} does not exist.')
            available = {_strip_suffix(n, self.img_suffix): n
                         for n in self._list_files(img_dir, self.img_suffix, 'image')}
            lines = mmengine.list_from_file(self.ann_file, backend_args=self.backend_args)
            stems = [ln.strip() for ln in lines]
            stems = [s for s in stems if s]
            missing = [s for s in stems if s not in available]
            if missing:
                raise FileNotFoundError(
                    f'{type(self).__name__} ({self.dataset_name}): {len(missing)} of {len(stems)} names in '
                    f'{self.ann_file!r} have no image with suffix {self.img_suffix} in {img_dir!r}; first: '
                    f'{missing[:_NAMES_SHOWN]}.')
            return [available[s] for s in stems]
        return self._list_files(img_dir, self.img_suffix, 'image')

    def pair_files(self) -> Tuple[List[dict], List[str], List[str]]:
        """Pair every image with its mask, without stopping at unmatched files.

        Returns:
            tuple: the data list (one ``dict(img_path, seg_map_path, dataset_name, [task,] ...)`` per matched
            image, sorted by image path), the images without a mask (relative names) and the masks
            without an image (relative names; legitimate when a mask folder serves several splits).
        """
        img_dir = self.data_prefix.get('img_path', '') or ''
        ann_dir = self.data_prefix.get('seg_map_path', '') or ''
        names = [n for n in self._image_names(img_dir) if self._keep(_strip_suffix(n, self.img_suffix))]
        if not names:
            raise FileNotFoundError(
                f'{type(self).__name__} ({self.dataset_name}): no image ending in {self.img_suffix} under '
                f'{img_dir!r}' + (f' matching {self.name_filter}' if self.name_filter else '') +
                '. Check the folder layout against docs/user_guides/dataset_prepare.md.')
        masks = {}
        for mask_name in self._list_files(ann_dir, self.seg_map_suffix, 'mask'):
            suffix = _matching_suffix(mask_name, self.seg_map_suffix)
            masks.setdefault((mask_name[:len(mask_name) - len(suffix)], suffix), mask_name)
        data_list, unmatched, used = [], [], set()
        for name in names:
            stem = _strip_suffix(name, self.img_suffix)
            key = next(((stem, sfx) for sfx in self.seg_map_suffix if (stem, sfx) in masks), None)
            if key is None:
                unmatched.append(name)
                continue
            used.add(masks[key])
            data_list.append(
                dict(
                    img_path=osp.join(img_dir, name),
                    seg_map_path=osp.join(ann_dir, masks[key]),
                    dataset_name=self.dataset_name,
                    **({} if self.task is None else {TASK_KEY: self.task}),
                    label_map=self.label_map,
                    reduce_zero_label=False,
                    seg_fields=[]))
        data_list.sort(key=lambda info: info['img_path'])
        unused = sorted(set(masks.values()) - used)
        if img_dir and osp.normpath(img_dir) == osp.normpath(ann_dir):  # images and masks side by side
            unused = [m for m in unused if _matching_suffix(m, self.img_suffix) is None]
        return data_list, unmatched, unused

    def load_data_list(self) -> List[dict]:
        """Pair every image with its mask; fail loudly on missing folders or masks.

        Returns:
            list[dict]: one ``dict(img_path, seg_map_path, dataset_name, label_map, reduce_zero_label,
            seg_fields)`` per image, sorted by image path.
        """
        img_dir = self.data_prefix.get('img_path', '') or ''
        ann_dir = self.data_prefix.get('seg_map_path', '') or ''
        data_list, unmatched, _ = self.pair_files()
        if unmatched:
            expected = [osp.join(ann_dir, _strip_suffix(n, self.img_suffix)) + self.seg_map_suffix[0]
                        for n in unmatched[:_NAMES_SHOWN]]
            first = [f'{n} (expected {e})' for n, e in zip(unmatched, expected)]
            raise FileNotFoundError(
                f'{type(self).__name__} ({self.dataset_name}): {len(unmatched)} of '
                f'{len(unmatched) + len(data_list)} images in {img_dir!r} have no mask ending in '
                f'{self.seg_map_suffix} in {ann_dir!r}; first: {first}. '
                'Fix the suffixes/folders, or restrict the images with `name_filter` or `ann_file`.')
        if self.expected_size is not None and len(data_list) != self.expected_size:
            print_log(
                f'{type(self).__name__} ({self.dataset_name}): found {len(data_list)} image/mask pairs '
                f'under {img_dir!r}, the official release has {self.expected_size}. Results are not '
                'comparable with published numbers unless this subset is intended.',
                logger='current',
                level=logging.WARNING)
        return data_list

    def __repr__(self) -> str:  # a short summary for logs
        size = len(self) if self._fully_initialized else '?'
        return (f'{type(self).__name__}(name={self.dataset_name!r}, size={size}, '
                f'img={self.data_prefix.get("img_path")!r}, masks={self.data_prefix.get("seg_map_path")!r})')

