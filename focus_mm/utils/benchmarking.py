"""What the analysis tools share: a model's parameters and FLOPs per component, a synthetic batch, the
optimiser of a timed training step.

``tools/analysis_tools/get_flops.py`` prints the FLOPs, ``benchmark.py`` relates them to measured times,
``train_step_memory.py`` and ``gpu_benchmark.py`` measure training steps; the timing and memory
helpers and the matmul reference rate are shared by all. The model is built from the config without
downloads (random weights: FLOPs do not depend on them) and traced once with mmengine's ``FlopAnalyzer``
(fvcore's counter) on the inference path ``encode_decode``.
What is and is not counted is said in ``get_flops.py``'s help.
"""
import os
import platform
import statistics
import threading
import time
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

COMPONENTS = OrderedDict([
    ('vit', ('backbone', )),
    ('edge_enhancer', ('neck', )),
    ('  edge_resnet', ('neck.edge_backbone', 'neck.edge_proj')),
    ('  interactions', ('neck.interactions', )),
    ('pixel_decoder', ('decode_head.pixel_decoder', )),
    ('transformer_decoder', ('decode_head', )),  # minus the pixel decoder, see _component_counts
])


def sdpa_flop_jit(inputs, outputs) -> int:
    """MACs of ``aten::scaled_dot_product_attention``: ``Q K^T`` and ``softmax(.) V``."""
    from mmengine.analysis.jit_handles import get_shape
    q, k, v = (get_shape(x) for x in inputs[:3])
    batch = 1
    for d in q[:-2]:
        batch *= d
    return batch * q[-2] * k[-2] * (q[-1] + v[-1])


class _InferencePath(nn.Module):
    """``model.encode_decode`` as a module with one tensor input, for tracing."""

    def __init__(self, model: nn.Module, img_shape: Sequence[int]):
        super().__init__()
        self.model = model
        h, w = img_shape
        self.metas = [dict(img_shape=(h, w), pad_shape=(h, w), ori_shape=(h, w))]

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.model.encode_decode(inputs, self.metas * inputs.shape[0])


def quiet_logs() -> None:
    """Keep mmengine's per-parameter INFO lines (init, paramwise options) out of the report."""
    import logging

    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel(logging.WARNING)


def build_model(config: str, cfg_options: Optional[dict] = None, device: str = 'cpu') -> nn.Module:
    """The config's model with its constructors' random weights, in eval mode, on ``device``.

    ``init_weights`` is not called: FLOPs and speed do not depend on the values, and it would log a
    line per parameter.
    """
    from mmengine.registry import init_default_scope

    import focus_mm  # noqa: F401  (registers the components)
    from .cli import load_config
    from .offline_config import build_offline_model

    quiet_logs()
    cfg = load_config(config, cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model = build_offline_model(cfg.model)
    return model.to(device).eval()


def input_channels(model: nn.Module) -> int:
    """6 (image + edge-blended image) when the neck has an edge branch, else 3."""
    neck = getattr(model, 'neck', None)
    return 6 if getattr(neck, 'drives_backbone', False) and getattr(neck, 'with_edge', False) else 3


def count_params(model: nn.Module) -> Dict[str, int]:
    """Parameters per component (``total`` included)."""
    named = dict(model.named_parameters())
    out = OrderedDict()
    for name, prefixes in COMPONENTS.items():
        heads = tuple(prefix + '.' for prefix in prefixes)
        out[name.strip()] = sum(p.numel() for n, p in named.items() if n.startswith(heads))
    out['transformer_decoder'] -= out['pixel_decoder']
    out['total'] = sum(p.numel() for p in named.values())
    return out


def _component_counts(by_module: Dict[str, int], total: int) -> Dict[str, int]:
    out = OrderedDict()
    for name, prefixes in COMPONENTS.items():
        out[name.strip()] = sum(by_module.get(f'model.{p}', 0) for p in prefixes)
    out['transformer_decoder'] -= out['pixel_decoder']
    top_level = ('vit', 'edge_enhancer', 'pixel_decoder', 'transformer_decoder')
    out['other'] = total - sum(out[name] for name in top_level)  # ops outside any module (final resize)
    out['total'] = total
    return out


def analyze(model: nn.Module, shape: Sequence[int], batch_size: int = 1) -> dict:
    """Parameters and MACs per component for one forward of ``batch_size`` images of ``shape``.

    Returns:
        dict: ``params``, ``macs`` (per image), ``gflops`` (2 x macs / 1e9, per image),
        ``uncounted_ops`` (op name -> number of calls) and the input description.
    """
    from mmengine.analysis import FlopAnalyzer

    device = next(model.parameters()).device
    inputs = torch.randn(batch_size, input_channels(model), *shape, device=device)
    wrapper = _InferencePath(model, shape).eval()
    analyzer = FlopAnalyzer(wrapper, (inputs, ))
    analyzer.set_op_handle('aten::scaled_dot_product_attention', sdpa_flop_jit)
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings('none')
    with torch.no_grad():
        total = analyzer.total()
        by_module = analyzer.by_module()
        uncounted = analyzer.unsupported_ops()
    macs = {k: v // batch_size for k, v in _component_counts(by_module, total).items()}
    return OrderedDict(
        input=dict(batch_size=batch_size, channels=inputs.shape[1], height=shape[0], width=shape[1]),
        params=count_params(model),
        macs=macs,
        gflops={k: 2 * v / 1e9 for k, v in macs.items()},
        uncounted_ops=dict(sorted(uncounted.items(), key=lambda kv: -kv[1])))


def synthetic_batch(shape, batch_size: int, channels: int, with_gt: bool, seed: int = 0) -> dict:
    """``{'inputs': [C x H x W uint8], 'data_samples': [SegDataSample]}`` as the dataloader gives it.

    Returns the batch and the mean time of the ``EdgePrior`` transform per image (0 without edges).
    """
    import cv2
    from mmengine.structures import PixelData

    from focus_mm.datasets.transforms import EdgePrior
    from mmseg.structures import SegDataSample

    rng = np.random.default_rng(seed)
    h, w = shape
    inputs, samples, edge_times = [], [], []
    for _ in range(batch_size):
        small = rng.integers(0, 256, (max(h // 16, 2), max(w // 16, 2), 3), dtype=np.uint8)
        img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)  # smooth: Canny finds real edges
        if channels == 6:
            start = time.perf_counter()
            img = EdgePrior().transform({'img': img})['img']
            edge_times.append(time.perf_counter() - start)
        inputs.append(torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))))
        sample = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        if with_gt:
            yy, xx = np.mgrid[:h, :w]
            cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
            mask = ((yy - cy) / (0.25 * h))**2 + ((xx - cx) / (0.2 * w))**2 < 1
            sample.gt_sem_seg = PixelData(data=torch.from_numpy(mask.astype(np.int64))[None])
        samples.append(sample)
    edge_ms = 1e3 * statistics.mean(edge_times) if edge_times else 0.0
    return {'inputs': inputs, 'data_samples': samples}, edge_ms


def build_optim_wrapper(model, cfg, device: str):
    """The config's optimizer wrapper; AMP wrappers become plain ones off CUDA (with a note)."""
    from mmengine.optim import build_optim_wrapper as build
    wrapper_cfg = dict(cfg.optim_wrapper)
    note = None
    if wrapper_cfg.get('type', 'OptimWrapper') == 'AmpOptimWrapper' and not str(device).startswith('cuda'):
        wrapper_cfg['type'] = 'OptimWrapper'
        for key in ('loss_scale', 'dtype'):
            wrapper_cfg.pop(key, None)
        note = 'AmpOptimWrapper replaced by OptimWrapper (float32): AMP needs a GPU'
    return build(model, wrapper_cfg), note


# ----------------------------------------------------------------------------- hardware limit
def matmul_gflops(n: int = 2048, repeats: int = 5, device: str = 'cpu') -> Tuple[float, float]:
    """Best dense float32 matmul rate (2 n^3 per product): GFLOP/s of wall time, and GFLOP per
    second of process CPU time (all threads; the rate that time-slicing by other processes does not
    change)."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    torch.mm(a, b)  # warm-up (thread pool, kernels)
    best_wall = best_cpu = float('inf')
    for _ in range(repeats):
        _sync(device)
        start, cpu_start = time.perf_counter(), time.process_time()
        torch.mm(a, b)
        _sync(device)
        best_wall = min(best_wall, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - cpu_start)
    flop = 2 * n**3 / 1e9
    return flop / best_wall, flop / max(best_cpu, 1e-9)


def _sync(device) -> None:
    if str(device).startswith('cuda'):
        torch.cuda.synchronize()


# ----------------------------------------------------------------------------- memory
def rss_bytes() -> int:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


class PeakMemory:
    """Peak memory during a block: CUDA allocator peak, or sampled process RSS on CPU."""

    def __init__(self, device: str, interval: float = 0.005):
        self.device = str(device)
        self.interval = interval
        self.peak = self.base = 0
        self._stop = threading.Event()

    def __enter__(self):
        if self.device.startswith('cuda'):
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
        else:
            self.base = self.peak = rss_bytes()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(self.interval)

    def __exit__(self, *exc):
        if self.device.startswith('cuda'):
            self.peak = torch.cuda.max_memory_allocated()
        else:
            self._stop.set()
            self._thread.join()
            self.peak = max(self.peak, rss_bytes())

    def as_dict(self) -> dict:
        kind = 'cuda_allocated' if self.device.startswith('cuda') else 'process_rss'
        return {'memory_kind': kind, 'peak_mb': self.peak / 2**20,
                'increase_mb': (self.peak - self.base) / 2**20}


# ----------------------------------------------------------------------------- timing
def time_calls(fn: Callable[[], None], iters: int, warmup: int, device: str) -> Dict[str, object]:
    """Run ``fn`` ``warmup`` times untimed, then ``iters`` times; seconds per call and peak memory.

    The memory window includes the warm-up: the first call allocates what later calls reuse
    (workspace, gradients, optimizer state), so the increase over the size before it is what the
    step needs beyond the model.
    """
    times: List[float] = []
    cpu_times: List[float] = []
    with PeakMemory(device) as mem:
        for _ in range(warmup):
            fn()
        for _ in range(iters):
            _sync(device)
            start, cpu_start = time.perf_counter(), time.process_time()
            fn()
            _sync(device)
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
    return {'times_s': times, 'mean_s': statistics.mean(times), 'median_s': statistics.median(times),
            'min_s': min(times), 'cpu_s': cpu_times, 'mean_cpu_s': statistics.mean(cpu_times),
            **mem.as_dict()}


def benchmark_inference(model, batch: dict, iters: int, warmup: int, device: str) -> dict:
    model.eval()

    def step():
        with torch.no_grad():
            model.test_step(batch)

    out = time_calls(step, iters, warmup, device)
    out['images_per_s'] = len(batch['inputs']) / out['mean_s']
    return out


def benchmark_train(model, cfg, batch: dict, iters: int, warmup: int, device: str) -> dict:
    optim_wrapper, note = build_optim_wrapper(model, cfg, device)
    model.train()
    losses = {}

    def step():
        losses.update(model.train_step(batch, optim_wrapper))

    out = time_calls(step, iters, warmup, device)
    out['images_per_s'] = len(batch['inputs']) / out['mean_s']
    out['loss_finite'] = bool(all(torch.isfinite(v).all() for v in losses.values()))
    if note:
        out['note'] = note
    return out


# ----------------------------------------------------------------------------- report
def machine_info(device: str, threads: int) -> dict:
    info = {'device': str(device), 'torch': torch.__version__, 'threads': threads,
            'python': platform.python_version()}
    if str(device).startswith('cuda'):
        info['name'] = torch.cuda.get_device_name()
    else:
        try:
            with open('/proc/cpuinfo') as f:
                info['name'] = next(line.split(':', 1)[1].strip() for line in f
                                    if line.startswith('model name'))
        except (OSError, StopIteration):
            info['name'] = platform.processor()
        info['logical_cpus'] = os.cpu_count()
        # other processes share the cores: the 1-minute load says how much (timings are noisy above
        # the core count)
        info['load_average_1min'] = os.getloadavg()[0]
    return info
