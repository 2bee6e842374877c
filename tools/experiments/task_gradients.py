"""Which tasks pull a universal model's shared weights apart: the cosine between per-task gradients.

For a universal checkpoint, each task's mean training-loss gradient (its first ``--num-images`` training
images, the training pipeline, the model in train mode) is taken over the parameters every task shares (all
but the per-task embeddings), and compared between tasks: cosine < 0 means two tasks push the shared weights
in opposite directions (they conflict: a step for one undoes part of a step for the other, the quantity
PCGrad, Yu et al. 2020, acts on), ~0 means they are unrelated, > 0 that they help each other. The norms say
how strongly each task still pulls; the cosine between two halves of one task's images is the scale to
read them against (two gradients of the same task agree that much with this many images).
docs/results/universal.md reads the study's checkpoints with it.

Example:
    python tools/experiments/task_gradients.py \
        configs/focus/focus-universal_mini_1xb8-1500_all-256x256.py CKPT --num-images 32 --by-module dbd-fd
"""
import argparse
import copy
from typing import Dict, List, Sequence, Tuple

import torch

from focus_mm.utils.cli import add_cfg_options, load_config


def shared_parameters(model: torch.nn.Module) -> List[Tuple[str, torch.nn.Parameter]]:
    """The trainable parameters all tasks share: all but the per-task ones (the modules named ``task_*``:
    the head's task embeddings, a universal neck's ``task_edge_affine``)."""
    per_task = {
        id(p)
        for name, module in model.named_modules() if name.rsplit('.', 1)[-1].startswith('task_')
        for p in module.parameters()
    }
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad and id(p) not in per_task]


def task_gradients(model: torch.nn.Module, batches: Dict[str, Sequence[dict]],
                   seed: int = 0) -> Dict[str, torch.Tensor]:
    """Each task's mean loss gradient over the shared parameters, flattened.

    Args:
        model (nn.Module): A universal segmentor in train mode.
        batches (dict): Task name -> its batches (collated ``dict(inputs=..., data_samples=...)``), each
            sample's metainfo naming the task.
        seed (int): torch's seed before each task's pass, so that every task sees the same random draws
            of the loss (the sampled points of the mask losses). Defaults to 0.

    Returns:
        dict: Task name -> a 1-D tensor (the same parameter order for every task).
    """
    shared = shared_parameters(model)
    grads = {}
    for task, task_batches in batches.items():
        model.zero_grad(set_to_none=True)
        torch.manual_seed(seed)
        for batch in task_batches:
            data = model.data_preprocessor(copy.deepcopy(batch), training=True)
            loss, _ = model.parse_losses(model(**data, mode='loss'))
            if not torch.isfinite(loss):
                raise FloatingPointError(f'task_gradients: the {task} loss is {loss.item()}')
            (loss / len(task_batches)).backward()
        grads[task] = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten()
                                 for _, p in shared])
    model.zero_grad(set_to_none=True)
    return grads


def cosine_matrix(grads: Dict[str, torch.Tensor]) -> torch.Tensor:
    """Pairwise cosine similarity of the tasks' gradients (rows and columns in ``grads``' order)."""
    stacked = torch.stack(list(grads.values())).double()
    unit = stacked / stacked.norm(dim=1, keepdim=True).clamp_min(1e-30)
    return unit @ unit.T


def task_batches(cfg, tasks: Sequence[str], num_images: int, batch_size: int) -> Dict[str, List[dict]]:
    """The first ``num_images`` training samples of each task, in batches, from the config's train set.

    The universal configs' training set is a ConcatDataset (mini) or of RepeatDatasets (the real sets);
    each sample's ``task`` metainfo decides where it goes.
    """
    from mmengine.dataset import pseudo_collate
    from mmseg.registry import DATASETS

    dataset = DATASETS.build(copy.deepcopy(cfg.train_dataloader.dataset))
    picked = {t: [] for t in tasks}
    starts = getattr(dataset, 'cumulative_sizes', [len(dataset)])
    for begin, end in zip([0] + list(starts[:-1]), starts):  # each sub-set from its start
        for index in range(begin, end):
            sample = dataset[index]
            task = sample['data_samples'].metainfo.get('task')
            if task not in picked or len(picked[task]) >= num_images:
                break
            picked[task].append(sample)
    missing = [t for t in tasks if len(picked[t]) < num_images]
    if missing:
        raise ValueError(f'task_gradients: fewer than {num_images} training images of {missing} at the start '
                         "of the config's training sub-sets")
    return {
        t: [pseudo_collate(samples[i:i + batch_size]) for i in range(0, num_images, batch_size)]
        for t, samples in picked.items()
    }


def split_half_gradients(model: torch.nn.Module, batches: Dict[str, Sequence[dict]], seed: int = 0):
    """Each task's gradient on the first and on the second half of its batches, and their mean.

    The cosine between a task's two halves is the reference for the cross-task cosines: how much two
    gradients of the same task agree with this many images (sampling noise), which a cross-task cosine
    is read against.

    Returns:
        tuple[dict, dict]: task -> the mean gradient (all batches), task -> the cosine between its halves.
    """
    odd = [t for t, b in batches.items() if len(b) < 2 or len(b) % 2]
    if odd:
        raise ValueError(f'split_half_gradients: {odd} need an even number (>= 2) of batches')
    first = task_gradients(model, {t: b[:len(b) // 2] for t, b in batches.items()}, seed)
    second = task_gradients(model, {t: b[len(b) // 2:] for t, b in batches.items()}, seed)
    mean = {t: (first[t] + second[t]) / 2 for t in batches}
    halves = {t: cosine_matrix({'a': first[t], 'b': second[t]})[0, 1].item() for t in batches}
    return mean, halves


def module_groups(model: torch.nn.Module, depth: int = 2,
                  min_params: int = 10_000) -> Dict[str, slice]:
    """Where each part of the model lies in the flattened shared gradient (``task_gradients``' order).

    Parameters are grouped by the first ``depth`` parts of their names (``neck.interactions``,
    ``decode_head.pixel_decoder``, ...); groups smaller than ``min_params`` go into ``(small)``, which,
    unlike the others, need not be contiguous and is returned as an index tensor.

    Returns:
        dict: Group name -> a ``slice`` (or, for ``(small)``, a LongTensor of indices) into the gradient.
    """
    spans, start = {}, 0
    for name, param in shared_parameters(model):
        group = '.'.join(name.split('.')[:depth])
        begin, _ = spans.get(group, (start, start))
        if group in spans and spans[group][1] != start:
            raise RuntimeError(f'module_groups: the parameters of {group} are not contiguous')
        spans[group] = (begin, start + param.numel())
        start += param.numel()
    groups, small = {}, []
    for group, (begin, end) in spans.items():
        if end - begin >= min_params:
            groups[group] = slice(begin, end)
        else:
            small.append(torch.arange(begin, end))
    if small:
        groups['(small)'] = torch.cat(small)
    return groups


def module_cosines(grads: Dict[str, torch.Tensor], groups: Dict[str, slice],
                   pairs: Sequence[Tuple[str, str]]) -> Dict[str, Dict[Tuple[str, str], float]]:
    """The cosine of each task pair restricted to each group of parameters: where two tasks conflict."""
    return {
        group: {(a, b): cosine_matrix({a: grads[a][index], b: grads[b][index]})[0, 1].item()
                for a, b in pairs}
        for group, index in groups.items()
    }


def format_module_table(grads: Dict[str, torch.Tensor], groups: Dict[str, slice],
                        pairs: Sequence[Tuple[str, str]]) -> str:
    cosines = module_cosines(grads, groups, pairs)
    tasks = list(grads)
    lines = ['| parameters | count | ' + ' | '.join(f'{a}-{b}' for a, b in pairs) + ' | ' +
             ' | '.join(f'{t} norm' for t in tasks) + ' |', '|' + '---|' * (2 + len(pairs) + len(tasks))]
    for group, index in groups.items():
        count = grads[tasks[0]][index].numel()
        lines.append(f'| {group} | {count:,} | ' +
                     ' | '.join(f'{cosines[group][pair]:+.3f}' for pair in pairs) + ' | ' +
                     ' | '.join(f'{grads[t][index].norm().item():.1f}' for t in tasks) + ' |')
    return '\n'.join(lines)


def format_table(tasks: Sequence[str], cosines: torch.Tensor, grads: Dict[str, torch.Tensor],
                 halves: Dict[str, float]) -> str:
    lines = ['| | ' + ' | '.join(tasks) + ' | same task, two halves | gradient norm |',
             '|' + '---|' * (len(tasks) + 3)]
    for i, task in enumerate(tasks):
        cells = [f'{cosines[i, j].item():+.3f}' for j in range(len(tasks))]
        lines.append(f'| {task} | ' + ' | '.join(cells) + f' | {halves[task]:+.3f} | '
                     f'{grads[task].norm().item():.3f} |')
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description='cosines between the tasks\' gradients of a universal model')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--num-images', type=int, default=32,
                        help='training images per task (an even number of batches: two halves are compared)')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--seed', type=int, default=0, help='seeds the training augmentation and sampling')
    parser.add_argument('--by-module', nargs='*', metavar='A-B', default=None,
                        help='also the cosine of these task pairs (default: every pair) per part of the '
                        'model (parameter names to depth 2): where two tasks conflict')
    add_cfg_options(parser)
    args = parser.parse_args()

    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmengine.runner import set_random_seed

    import focus_mm  # noqa: F401
    from focus_mm.apis.checkpoint import load_model_checkpoint
    from mmseg.registry import MODELS

    cfg = load_config(args.config, args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    set_random_seed(args.seed)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    load_model_checkpoint(model, args.checkpoint)
    tasks = tuple(model.decode_head.tasks)
    if not tasks:
        raise SystemExit(f'{args.config}: not a universal model (its decode head has no tasks)')
    pairs = None
    if args.by_module is not None:  # checked before the slow part
        pairs = [tuple(p.split('-')) for p in args.by_module] or [
            (a, b) for i, a in enumerate(tasks) for b in tasks[i + 1:]]
        if any(len(pair) != 2 or not set(pair) <= set(tasks) for pair in pairs):
            raise SystemExit(f'--by-module {args.by_module}: give pairs A-B of the tasks {list(tasks)}')
    model.train()
    batches = task_batches(cfg, tasks, args.num_images, args.batch_size)
    grads, halves = split_half_gradients(model, batches, args.seed)
    print(f'{args.checkpoint}: cosines between the tasks\' mean gradients ({args.num_images} training images '
          f'each) over {grads[tasks[0]].numel():,} shared parameters; "two halves": the cosine between the '
          f'gradients of each task\'s two halves of its images (the level of agreement within a task)')
    print(format_table(tasks, cosine_matrix(grads), grads, halves))
    if pairs:
        print('\nper part of the model (cosine of each pair; each task\'s gradient norm there):')
        print(format_module_table(grads, module_groups(model), pairs))


if __name__ == '__main__':
    main()
