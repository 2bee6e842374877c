"""Which tasks pull a universal model's shared weights apart: the cosine between per-task gradients.

For a universal checkpoint, each task's mean training-loss gradient (its first ``--num-images`` training
images, the training pipeline, the model in train mode) is taken over the parameters every task shares (all
but the per-task embeddings), and compared between tasks: cosine < 0 means two tasks push the shared weights
in opposite directions (they conflict: a step for one undoes part of a step for the other, the quantity
PCGrad, Yu et al. 2020, acts on), ~0 means they are unrelated, > 0 that they help each other. The norms say
how strongly each task still pulls; the cosine between two halves of one task's images is the scale to
read them against (two gradients of the same task agree that much with this many images).
docs/universal.md reads the study's checkpoints with it.

Example:
    python tools/analysis_tools/task_gradients.py \
        configs/focus/focus-universal_mini_1xb8-1500_all-256x256.py CKPT --num-images 32
"""
import argparse
import copy
from typing import Dict, List, Sequence, Tuple

import torch


def shared_parameters(model: torch.nn.Module) -> List[Tuple[str, torch.nn.Parameter]]:
    """The trainable parameters all tasks share: everything but the head's per-task embeddings."""
    head = model.decode_head
    per_task = {
        id(p)
        for name, module in head.named_children() if name.startswith('task_')
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
    args = parser.parse_args()

    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmengine.runner import set_random_seed

    import focus_mm  # noqa: F401
    from focus_mm.apis.checkpoint import load_model_checkpoint
    from mmseg.registry import MODELS

    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    set_random_seed(args.seed)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    load_model_checkpoint(model, args.checkpoint)
    tasks = tuple(model.decode_head.tasks)
    if not tasks:
        raise SystemExit(f'{args.config}: not a universal model (its decode head has no tasks)')
    model.train()
    batches = task_batches(cfg, tasks, args.num_images, args.batch_size)
    grads, halves = split_half_gradients(model, batches, args.seed)
    print(f'{args.checkpoint}: cosines between the tasks\' mean gradients ({args.num_images} training images '
          f'each) over {grads[tasks[0]].numel():,} shared parameters; "two halves": the cosine between the '
          f'gradients of each task\'s two halves of its images (the level of agreement within a task)')
    print(format_table(tasks, cosine_matrix(grads), grads, halves))


if __name__ == '__main__':
    main()
