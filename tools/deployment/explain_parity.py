"""Where ONNX Runtime and PyTorch part: every module's output compared, in the order the model runs them.

    python tools/deployment/explain_parity.py CONFIG [CHECKPOINT] [--task TASK] [--shape H W]
        [--img-shape H W] [--batch-size B] [--modules REGEX] [--top N] [--threads N]

The model is exported once more with each matching module's output as an extra graph output (forward
hooks while tracing; the deployed graph is not changed), ONNX Runtime and PyTorch run the same random
normalised input, and one line per module call is printed: the largest absolute difference, the largest
absolute PyTorch value there (the scale), their ratio, and how much the difference grew over the largest
one before it. The first line whose difference jumps (``--jump``, default x10 over everything before it
and above 1e-5 relative) is marked: that module is where the routes part, by rounding (a ratio near
float32's 1e-7 that grows with the scale) or by an operator that differs (a jump at a small scale).
A module called several times (a decoder's norm, one per layer) has one line per call (``name#k``).
Extra outputs keep ONNX Runtime from fusing across them, so the final logits' difference can be a little
other than the deployed graph's; it is printed for both.
"""
import argparse
import os.path as osp
import re
import sys
import tempfile
import warnings

import torch

from focus_mm.utils.cli import add_cfg_options


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Compare ONNX Runtime and PyTorch module by module')
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', help='model checkpoint (.pth); random weights without it')
    parser.add_argument('--task', help='task of a universal checkpoint (default: its first task)')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'), default=(256, 320),
                        help='input size (default 256 320)')
    parser.add_argument('--img-shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='the images\' size inside the input (the rest is padding); default all of it')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--modules', default='.',
                        help='regular expression on the module names to compare (default: every module)')
    parser.add_argument('--top', type=int, default=0, help='print only the N lines of largest difference')
    parser.add_argument('--jump', type=float, default=10.0, help='growth that marks a parting module')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--seed', type=int, default=0)
    add_cfg_options(parser)
    return parser.parse_args(argv)


class ProbedWrapper(torch.nn.Module):
    """An export wrapper whose forward also returns the floating-point outputs of ``modules``."""

    def __init__(self, wrapper: torch.nn.Module, modules):
        super().__init__()
        self.wrapper = wrapper
        self.probed = list(modules)
        self.names = []

    def forward(self, *inputs):
        outputs, names, calls = [], [], {}

        def hook(name, module, args, output):
            tensors = output if isinstance(output, (tuple, list)) else (output, )
            calls[name] = calls.get(name, 0) + 1
            for i, tensor in enumerate(tensors):
                if isinstance(tensor, torch.Tensor) and tensor.is_floating_point():
                    suffix = ((f'#{calls[name] - 1}' if calls[name] > 1 else '')
                              + (f'[{i}]' if len(tensors) > 1 else ''))
                    names.append(name + suffix)
                    outputs.append(tensor.float() * 1)  # a node of its own (a graph output may repeat)

        handles = [m.register_forward_hook(lambda mod, a, out, name=n: hook(name, mod, a, out))
                   for n, m in self.probed]
        try:
            logits = self.wrapper(*inputs)
        finally:
            for handle in handles:
                handle.remove()
        self.names = names
        return (logits, *outputs)


def compare(model, task, shape, img_shape, batch_size, pattern, threads, seed):
    """Per probed module call: (name, max abs diff, scale); plus the plain graph's logits difference."""
    from focus_mm.apis.export import OnnxExportWrapper, _traceable_deformable_attention, export_onnx
    from focus_mm.apis.onnx_backend import create_session, run_session
    from focus_mm.models.utils.pca_prior import prior_solver

    wrapper = OnnxExportWrapper(model).eval()
    regex = re.compile(pattern)
    modules = [(n, m) for n, m in model.named_modules() if n and regex.search(n)]
    probed = ProbedWrapper(wrapper, modules).eval()
    inputs = wrapper.example_inputs(tuple(shape), batch_size, torch.Generator().manual_seed(seed), task,
                                    img_shape)
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'probed.onnx')
        with prior_solver('power'), _traceable_deformable_attention(), torch.no_grad(), \
                warnings.catch_warnings():
            warnings.simplefilter('ignore')
            probed(*inputs)
            count = len(probed.names)
            torch.onnx.export(probed, inputs, path, input_names=wrapper.input_names,
                              output_names=['logits'] + [f'probe_{i}' for i in range(count)],
                              opset_version=17, dynamo=False)
            names = list(probed.names)  # as traced (the same calls as the eager run)
        feeds = {name: x.numpy() for name, x in zip(wrapper.input_names, inputs)}
        ort_outputs = run_session(create_session(path, threads=threads), feeds, path)
        plain = osp.join(tmp, 'plain.onnx')
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            export_onnx(model, plain, tuple(shape), check=False)
        ort_plain = run_session(create_session(plain, threads=threads), feeds, plain)[0]
    with prior_solver('power'), torch.no_grad():
        torch_outputs = probed(*inputs)
    rows = []
    for name, ref, ort in zip(['logits'] + names, torch_outputs, ort_outputs):
        ort = torch.from_numpy(ort)
        diff = (ref - ort).abs().max().item() if ref.shape == ort.shape else float('inf')
        rows.append((name, diff, ref.abs().max().item()))
    plain_diff = (torch_outputs[0] - torch.from_numpy(ort_plain)).abs().max().item()
    return rows[1:] + rows[:1], plain_diff


def main(argv=None) -> int:
    args = parse_args(argv)
    import importlib.util
    spec = importlib.util.spec_from_file_location('pytorch2onnx',
                                                  osp.join(osp.dirname(__file__), 'pytorch2onnx.py'))
    exporter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exporter)  # the exporter's own model loading
    build_model = exporter.build_model

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    _, model = build_model(args.config, args.checkpoint, args.cfg_options, args.task)
    rows, plain_diff = compare(model, args.task, args.shape, args.img_shape, args.batch_size, args.modules,
                               args.threads, args.seed)
    print(f'[explain_parity] {len(rows) - 1} module outputs compared at {args.shape[0]}x{args.shape[1]}, '
          f'batch {args.batch_size}' + (f', task {args.task}' if args.task else ''))
    print(f'{"module (call order)":<60} {"max |diff|":>11} {"max |value|":>11} {"ratio":>9} {"growth":>8}')
    worst_before, marked = 0.0, False
    lines = []
    for name, diff, scale in rows:
        ratio = diff / scale if scale > 0 else 0.0
        growth = diff / worst_before if worst_before > 0 else float('inf')
        mark = ''
        if not marked and diff > 0 and ratio > 1e-5 and growth >= args.jump:
            mark, marked = '  <- parts here', True
        lines.append((diff, f'{name[:60]:<60} {diff:11.3e} {scale:11.3e} {ratio:9.1e} {growth:8.1f}{mark}'))
        worst_before = max(worst_before, diff) if name != 'logits' else worst_before
    shown = sorted(lines, key=lambda item: -item[0])[:args.top] if args.top else lines
    for _, line in shown:
        print(line)
    print(f'[explain_parity] logits of the deployed graph (no extra outputs): max |diff| {plain_diff:.3e}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
