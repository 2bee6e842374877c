"""Per-task learned vectors of a universal head, looked up by each sample's task."""
from typing import Dict, Optional, Sequence, Tuple

import torch
from torch import nn

from ...tasks import sample_task

#: where a universal ``GroundQueryHead`` injects the task.
TASK_CONDITIONING = ('queries', 'pixel_decoder')


class TaskEmbedding(nn.Embedding):
    """One learned vector per task (an ``nn.Embedding`` with one row per task, the tasks named).

    Initialised as ``nn.Embedding`` (N(0, 1)): the scale of the shared queries and of the normalised
    encoder tokens they are added to, so the tasks are told apart from the first step; being an
    ``nn.Embedding``, it gets the embedding weight-decay rule of ``FocusOptimWrapperConstructor``.

    Args:
        tasks (Sequence[str]): The tasks, in the order of the rows.
        embedding_dim (int): Width of each task's vector.
    """

    def __init__(self, tasks: Sequence[str], embedding_dim: int):
        super().__init__(len(tasks), embedding_dim)
        self.tasks: Tuple[str, ...] = tuple(tasks)


def build_task_embeddings(tasks: Sequence[str], task_conditioning: Sequence[str], num_queries: int,
                          feat_channels: int) -> Dict[str, TaskEmbedding]:
    """The task embeddings of a universal ground-query head, by attribute name.

    Args:
        tasks (Sequence[str]): The universal model's tasks (checked by the caller).
        task_conditioning (Sequence[str]): Some of :data:`TASK_CONDITIONING`: ``'queries'`` gives an
            offset of the query content and position embeddings (``task_query_feat``,
            ``task_query_embed``, ``num_queries * feat_channels`` wide), ``'pixel_decoder'`` a vector
            added to every token of the pixel decoder's encoder (``task_pixel_embed``).
        num_queries (int): Queries of the head.
        feat_channels (int): Width of the queries and of the pixel decoder.

    Returns:
        dict[str, TaskEmbedding]: In the order they are created (which fixes their random init).

    Raises:
        ValueError: ``task_conditioning`` is empty or names something else.
    """
    unknown = set(task_conditioning) - set(TASK_CONDITIONING)
    if unknown or not task_conditioning:
        raise ValueError(f'GroundQueryHead: task_conditioning={list(task_conditioning)}; choose one or '
                         "both of 'queries' and 'pixel_decoder'.")
    embeddings = {}
    if 'queries' in task_conditioning:
        embeddings['task_query_feat'] = TaskEmbedding(tasks, num_queries * feat_channels)
        embeddings['task_query_embed'] = TaskEmbedding(tasks, num_queries * feat_channels)
    if 'pixel_decoder' in task_conditioning:
        embeddings['task_pixel_embed'] = TaskEmbedding(tasks, feat_channels)
    return embeddings


def task_indices(tasks: Sequence[str], batch_img_metas: Sequence, inference_task: Optional[str] = None,
                 device=None) -> torch.Tensor:
    """Index in ``tasks`` of each sample's task.

    Args:
        tasks (Sequence[str]): The model's tasks.
        batch_img_metas (Sequence[dict | SegDataSample]): Metainfo dicts or data samples (``task``).
        inference_task (str, optional): When set, every sample is this task.
        device (torch.device, optional): Of the result.

    Returns:
        Tensor: long, one index per sample.

    Raises:
        KeyError: A sample without a task, or with a task not in ``tasks``.
    """
    indices = []
    for meta in batch_img_metas:
        task = inference_task or sample_task(meta)
        if task not in tasks:
            info = meta.metainfo if hasattr(meta, 'metainfo') else meta
            where = info.get('img_path', 'an input') if isinstance(info, dict) else 'an input'
            what = 'no task' if task is None else f'the unknown task {task!r}'
            raise KeyError(f'GroundQueryHead: {where} has {what}; this universal model knows the tasks '
                           f'{list(tasks)}. Choose one (FocusInferencer(task=...), --task), or give '
                           "the dataset task=... and keep 'task' in PackSegInputs.meta_keys.")
        indices.append(tasks.index(task))
    return torch.tensor(indices, dtype=torch.long, device=device)
