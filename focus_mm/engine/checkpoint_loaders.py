"""One checkpoint policy for every mmengine scheme: safe first, a full unpickle only on opt-in.

Importing ``focus_mm`` calls :func:`register_safe_checkpoint_loaders`, which changes three things in other
libraries (all listed in ``docs/advanced_guides/changes_to_other_libraries.md``):

- mmengine 0.10.7's scheme loaders (``CheckpointLoader``: local paths, ``http(s)://``, ``torchvision://``,
  ``open-mmlab://``, ``mmcls://``, ...) call ``torch.load`` without ``weights_only``, and the URL ones go
  through ``torch.hub.load_state_dict_from_url``, which unpickles a downloaded file in full (a
  ``__reduce__`` payload in the hub cache runs). On torch >= 2.6 the local loader's default safe load also
  refuses mmengine's own training state and breaks ``--resume`` (mmengine issue #1655). Every scheme is
  re-registered (``force=True``) to one reader, :func:`safe_load`: ``weights_only=True`` with mmengine's
  state classes allow-listed; URLs are downloaded to the torch hub cache first and read the same way. A
  file that the safe load refuses is fully unpickled only when the user opts in
  (``FOCUS_TRUSTED_CHECKPOINTS=1``), logged; a truncated or corrupt file is reported as such and never
  retried with a full unpickle.
- ``HistoryBuffer.__getstate__`` drops the buffer's table of statistics functions, which the safe
  loader refuses and which the class re-creates on load anyway.
- ``torch.serialization.add_safe_globals`` gets mmengine's training-state classes and numpy's
  array/scalar reconstructors.

Upstream: mmengine PR #1670 (merged after 0.10.7, in no release as of mmengine 0.10.7 on PyPI) makes
mmengine's loaders pass ``weights_only=False``: that restores ``--resume`` but unpickles every file in
full, so it does not retire this module. What retires it is an mmengine release whose loaders read with
``weights_only=True`` and allow-list its own training state (no such issue or PR is open upstream; the
nearest is PR #1639, which also passes ``weights_only=False``).
"""
import importlib.util
import io
import logging
import os
import os.path as osp
import pickle
import re
import sys
import tempfile
import zipfile
from typing import Optional
from urllib.parse import urlparse

import numpy as np
import torch

from mmengine.logging import print_log

TRUSTED_ENV = 'FOCUS_TRUSTED_CHECKPOINTS'


class UnsafeCheckpointError(RuntimeError):
    """The checkpoint holds Python objects that the safe loader refuses (and no opt-in was given)."""


class CorruptCheckpointError(RuntimeError):
    """The checkpoint file is truncated or damaged (it is never retried with a full unpickle)."""


def _mmengine_safe_globals() -> list:
    """Classes and functions that mmengine training checkpoints pickle besides tensors."""
    from collections import OrderedDict, defaultdict

    from mmengine.logging.history_buffer import HistoryBuffer

    globs = [HistoryBuffer, OrderedDict, defaultdict, np.ndarray, np.dtype]
    # numpy arrays and scalars are rebuilt through these. numpy 2 moved them from numpy.core to
    # numpy._core; files written under numpy 1 (most published checkpoints) name the old path.
    core = getattr(np, '_core', None) or np.core
    for fn in (core.multiarray._reconstruct, core.multiarray.scalar):
        globs += [fn, (fn, f'numpy.core.multiarray.{fn.__name__}')]
    globs += [type(np.dtype(t)) for t in ('float64', 'float32', 'float16', 'int64', 'int32', 'int16',
                                          'int8', 'uint8', 'bool')]
    return globs


def trusted_full_load_allowed() -> bool:
    """Whether a file that the safe loader refuses may be unpickled in full (FOCUS_TRUSTED_CHECKPOINTS=1)."""
    return os.environ.get(TRUSTED_ENV, '0') == '1'


def _refused_by_safe_loader(err: Exception) -> bool:
    # torch's weights-only unpickler reports a forbidden global or operation with an UnpicklingError
    # (wrapped by torch.load in "Weights only load failed"); anything else (EOF, a bad zip directory or
    # magic number, a CRC error) means that the bytes themselves are damaged.
    msg = str(err)
    return isinstance(err, pickle.UnpicklingError) and any(
        s in msg for s in ('Weights only load failed', 'GLOBAL', 'Unsupported'))


def _refusal_reason(err: Exception) -> str:
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    hits = [ln for ln in lines if 'GLOBAL' in ln or 'Unsupported' in ln]
    return hits[0] if hits else lines[-1]


def _names_nothing(dotted: str) -> bool:
    """Whether ``module.qualname`` certainly names no object, decided without importing anything new
    (the name comes from an untrusted file): its module is loaded and lacks it, or no module matches."""
    parts = dotted.split('.')
    for i in range(len(parts) - 1, 0, -1):
        module = '.'.join(parts[:i])
        if module in sys.modules:
            obj = sys.modules[module]
            for attr in parts[i:]:
                if not hasattr(obj, attr):
                    return True
                obj = getattr(obj, attr)
            return False
        try:
            if importlib.util.find_spec(module) is not None:
                return False  # exists but is not loaded: cannot tell without importing it
        except (ImportError, ValueError):
            pass
    return True


def _safe_or_opt_in(what: str, safe_read, full_read):
    """Run ``safe_read``; on a refusal run ``full_read`` only on opt-in (logged); report damage as such."""
    try:
        return safe_read()
    except Exception as err:  # noqa: BLE001  (torch raises several types; each is classified below)
        if not _refused_by_safe_loader(err):
            first = (str(err).strip().splitlines() or [''])[0]
            raise CorruptCheckpointError(
                f'checkpoint {what} is truncated or corrupt ({type(err).__name__}: {first}). Delete it and '
                'download or copy it again (downloads are cached under torch.hub.get_dir()/checkpoints). '
                'A damaged file is never retried with a full unpickle.') from err
        reason = _refusal_reason(err)
        # A file cut inside a class name ("collections.Ordered") is refused as an unknown global: it is
        # damaged, not merely untrusted, and is not retried.
        missing = [g for g in re.findall(r'GLOBAL ([\w.]+)', str(err)) if _names_nothing(g)]
        if missing:
            raise CorruptCheckpointError(
                f'checkpoint {what} is truncated or corrupt: it names {missing[0]}, which does not exist. '
                'Delete it and download or copy it again.') from err
        if not trusted_full_load_allowed():
            raise UnsafeCheckpointError(
                f'checkpoint {what} holds Python objects that the safe loader refuses ({reason}). Loading '
                'it in full would run code stored in the file. If you trust where it came from, set '
                f'{TRUSTED_ENV}=1 to allow a full unpickle.') from err
        print_log(f'{TRUSTED_ENV}=1: fully unpickling checkpoint {what} ({reason})', logger='current',
                  level=logging.WARNING)
        return full_read()


def safe_load(source, map_location=None, name: Optional[str] = None):
    """The project's one checkpoint reader: ``torch.load(weights_only=True)``, else an explicit choice.

    - The safe load allows tensors, containers, numpy arrays and mmengine's training state
      (``MessageHub`` history), which covers model zoo weights and our own checkpoints.
    - A file that holds other Python objects is refused with :class:`UnsafeCheckpointError`, unless
      ``FOCUS_TRUSTED_CHECKPOINTS=1``: then it is fully unpickled, with a warning in the log, because a
      full unpickle runs whatever code the file carries.
    - A truncated or damaged file raises :class:`CorruptCheckpointError` naming it; it is never retried
      with a full unpickle.

    Args:
        source (str | file-like): A local file path or a binary buffer.
        map_location: As in :func:`torch.load`.
        name (str, optional): How to name the checkpoint in messages (e.g. the URL it came from).

    Returns:
        The unpickled object (usually a dict).
    """

    def full_read():
        if hasattr(source, 'seek'):
            source.seek(0)
        return torch.load(source, map_location=map_location, weights_only=False)

    def safe_read():
        return torch.load(source, map_location=map_location, weights_only=True)

    return _safe_or_opt_in(name or str(source), safe_read, full_read)


def safe_unpickle(filename: str, encoding: str = 'latin1'):
    """A plain pickle (a detectron2 ``.pkl`` of numpy arrays) under :func:`safe_load`'s policy.

    ``torch.load`` reads only ``torch.save`` files; torch's weights-only unpickler, which it uses inside,
    reads plain pickles with the same allow-list (a private module: torch has no public entry for it).
    """
    from torch import _weights_only_unpickler

    with open(filename, 'rb') as f:

        def full_read():
            f.seek(0)
            return pickle.load(f, encoding=encoding)

        def safe_read():
            return _weights_only_unpickler.Unpickler(f, encoding=encoding).load()

        return _safe_or_opt_in(filename, safe_read, full_read)


def load_from_local(filename: str, map_location=None):
    """mmengine scheme ``''`` (a local path): :func:`safe_load` after an existence check."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f'checkpoint not found: {filename}. Check the path (or --resume / load_from), or download '
            'the weights named in docs/model_zoo.md to that path.')
    return safe_load(filename, map_location)


def download_to_hub_cache(url: str, model_dir: Optional[str] = None) -> str:
    """Download ``url`` into torch hub's checkpoint folder (if not there yet) and return the file.

    The cache layout is ``torch.hub.load_state_dict_from_url``'s (``<hub dir>/checkpoints/<basename>``),
    so files that torch or mmengine downloaded before are reused; only the loading differs.
    """
    model_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    os.makedirs(model_dir, exist_ok=True)
    cached = osp.join(model_dir, osp.basename(urlparse(url).path))
    if not osp.exists(cached):
        sys.stderr.write(f'Downloading: "{url}" to {cached}\n')
        # Writes to a temporary file and renames it at the end: an interrupted download leaves no
        # truncated file under the cached name.
        torch.hub.download_url_to_file(url, cached, None, progress=os.isatty(2))
    return cached


def _load_cached(cached: str, url: str, map_location):
    # torch.hub also accepts the pre-1.6 "legacy zip" (one pickled file zipped); unpack it the same way.
    if zipfile.is_zipfile(cached):
        with zipfile.ZipFile(cached) as zf:
            members = zf.infolist()
            if len(members) == 1 and not members[0].is_dir():
                zf.extractall(osp.dirname(cached))
                cached = osp.join(osp.dirname(cached), members[0].filename)
    return safe_load(cached, map_location, name=f'{cached} (downloaded from {url})')


def load_from_http(filename: str, map_location=None, model_dir: Optional[str] = None):
    """mmengine schemes ``http://``, ``https://``: download to the hub cache, then :func:`safe_load`.

    In a distributed run rank 0 downloads first and the other ranks wait, as mmengine does.
    """
    from mmengine.dist import get_dist_info

    rank, world_size = get_dist_info()
    if rank == 0:
        cached = download_to_hub_cache(filename, model_dir)
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            cached = download_to_hub_cache(filename, model_dir)
    return _load_cached(cached, filename, map_location)


def _model_url(table: dict, name: str, filename: str) -> str:
    if name not in table:
        raise KeyError(f'{filename}: no weights named {name!r} in mmengine\'s model table '
                       f'({len(table)} names, e.g. {sorted(table)[:5]}). Check the name, or give a URL or '
                       'a path.')
    return table[name]


def load_from_torchvision(filename: str, map_location=None):
    """mmengine schemes ``torchvision://``, ``modelzoo://``: name -> URL as mmengine resolves it."""
    from mmengine.runner.checkpoint import get_torchvision_models

    scheme, name = filename.split('://', 1)
    if scheme == 'modelzoo':
        print_log('The URL scheme "modelzoo://" is deprecated, use "torchvision://"', logger='current',
                  level=logging.WARNING)
    return load_from_http(_model_url(get_torchvision_models(), name, filename), map_location)


def load_from_openmmlab(filename: str, map_location=None):
    """mmengine schemes ``open-mmlab://``, ``openmmlab://``: URL or a file under mmengine's home."""
    from mmengine.runner.checkpoint import _get_mmengine_home, get_deprecated_model_names, get_external_models

    scheme, name = filename.split('://', 1)
    deprecated = get_deprecated_model_names()
    if name in deprecated:
        print_log(f'{scheme}://{name} is deprecated in favour of {scheme}://{deprecated[name]}',
                  logger='current', level=logging.WARNING)
        name = deprecated[name]
    url = _model_url(get_external_models(), name, filename)
    if url.startswith(('http://', 'https://')):
        return load_from_http(url, map_location)
    return load_from_local(osp.join(_get_mmengine_home(), url), map_location)


def load_from_mmcls(filename: str, map_location=None):
    """mmengine scheme ``mmcls://``: a classifier's URL; its ``backbone.`` keys, prefix stripped."""
    from mmengine.runner.checkpoint import _process_mmcls_checkpoint, get_mmcls_models

    url = _model_url(get_mmcls_models(), filename.split('://', 1)[1], filename)
    return _process_mmcls_checkpoint(load_from_http(url, map_location))


def load_from_pavi(filename: str, map_location=None):
    """mmengine scheme ``pavi://`` (needs the ``pavi`` package): download to a temp dir, safe load."""
    try:
        from pavi import modelcloud
    except ImportError as err:
        raise ImportError(f'{filename}: loading from pavi needs the pavi package') from err
    model = modelcloud.get(filename[len('pavi://'):])
    with tempfile.TemporaryDirectory() as tmp_dir:
        path = osp.join(tmp_dir, model.name)
        model.download(path)
        return safe_load(path, map_location, name=filename)


def load_from_ceph(filename: str, map_location=None, backend: str = 'petrel'):
    """mmengine schemes ``s3://``, ``petrel://`` (needs petrel-oss): read the bytes, safe load."""
    from mmengine.fileio import get_file_backend

    file_backend = get_file_backend(filename, backend_args={'backend': backend})
    with io.BytesIO(file_backend.get(filename)) as buffer:
        return safe_load(buffer, map_location, name=filename)


# Every prefix mmengine 0.10.7 registers (``CheckpointLoader._schemes``) -> our loader.
SCHEME_LOADERS = {
    '': load_from_local,
    'http://': load_from_http,
    'https://': load_from_http,
    'torchvision://': load_from_torchvision,
    'modelzoo://': load_from_torchvision,
    'open-mmlab://': load_from_openmmlab,
    'openmmlab://': load_from_openmmlab,
    'mmcls://': load_from_mmcls,
    'pavi://': load_from_pavi,
    r'(\S+\:)?s3://': load_from_ceph,
    r'(\S+\:)?petrel://': load_from_ceph,
}


def _history_buffer_getstate(self) -> dict:
    """``HistoryBuffer.__getstate__`` without its function table.

    mmengine pickles ``{'min': HistoryBuffer.min, ...}`` into every buffer, which the safe loader
    refuses (it needs ``getattr``); those functions are class-level and re-registered on load anyway.
    """
    state = dict(self.__dict__)
    state.pop('statistics_methods', None)
    return state


def register_safe_checkpoint_loaders() -> None:
    """Make every mmengine checkpoint scheme read through :func:`safe_load` (idempotent)."""
    from mmengine.logging.history_buffer import HistoryBuffer
    from mmengine.runner.checkpoint import CheckpointLoader

    HistoryBuffer.__getstate__ = _history_buffer_getstate
    torch.serialization.add_safe_globals(_mmengine_safe_globals())
    # mmengine's own scheme loaders call torch.load / torch.hub.load_state_dict_from_url without
    # weights_only, and the URL ones unpickle downloaded files in full on any torch: replace them all
    # (force=True), so that every entry point (init_cfg, load_from, resume, the inferencer, the
    # converters) reads checkpoints through safe_load.
    unknown = sorted(set(CheckpointLoader._schemes) - set(SCHEME_LOADERS))
    if unknown:  # a scheme mmengine added after 0.10.7, or another package registered: not covered
        print_log(f'focus_mm.engine.checkpoint_loaders: checkpoint schemes {unknown} are not covered by the '
                  'safe loader',
                  logger='current', level=logging.WARNING)
    for prefix, loader in SCHEME_LOADERS.items():
        CheckpointLoader.register_scheme(prefixes=prefix, loader=loader, force=True)


register_safe_checkpoint_loaders()
