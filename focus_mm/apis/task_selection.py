"""Choosing the task at inference: one rule for FocusInferencer, tools/infer.py and tools/test.py."""
import warnings
from typing import Optional, Sequence

from ..tasks import TASKS, checkpoint_tasks, config_task, model_tasks


def set_inference_task(model, task: Optional[str], checkpoint: Optional[dict] = None, cfg=None,
                       required: bool = True) -> Optional[str]:
    """Make ``model`` decode every input as ``task`` (universal models), or check and ignore it.

    - Universal model (its head has ``tasks``): ``task`` must be one of them; ``None`` fails when
      ``required`` (``FocusInferencer``, ``tools/infer.py``), and otherwise leaves each sample's own task
      from its metainfo (``tools/test.py`` without ``--task``). A checkpoint whose ``meta['tasks']``
      differs from the model's fails too.
    - Single-task model: ``task`` is ignored, with a warning when it differs from the task the checkpoint
      (``meta['tasks']``) or the config (its test evaluator's ``task``) was made for.

    Args:
        model (nn.Module): The segmentor (wrappers are looked through).
        task (str, optional): The requested task.
        checkpoint (dict, optional): The loaded checkpoint (for its ``meta``).
        cfg (Config, optional): The model's config (for a single-task model's task).
        required (bool): Whether a universal model must be given a task. Defaults to True.

    Returns:
        str | None: The task the model now decodes (None: each sample's own, or a single-task model).

    Raises:
        ValueError: A universal model without a task (when required), with an unknown task, or with a
            checkpoint trained for other tasks; the message lists the tasks it knows.
    """
    if task is not None and task not in TASKS:
        raise ValueError(f'unknown task {task!r}; the tasks are {list(TASKS)}.')
    tasks = model_tasks(model)
    saved = checkpoint_tasks(checkpoint) if checkpoint is not None else None
    if tasks:
        if saved is not None and saved != tasks:
            raise ValueError(f'the checkpoint was trained for the tasks {list(saved)}, the config builds a '
                             f'model for {list(tasks)}; use the config the checkpoint was trained with.')
        if task is None and required:
            raise ValueError(f'this is a universal checkpoint: choose its task with task=... (--task); it '
                             f'knows the tasks {list(tasks)}.')
        if task is not None and task not in tasks:
            raise ValueError(f'unknown task {task!r} for this universal checkpoint; it knows the tasks '
                             f'{list(tasks)}.')
        head = _unwrap(model).decode_head
        head.inference_task = task
        return task
    _warn_single_task(task, saved[0] if saved and len(saved) == 1 else config_task(cfg), 'checkpoint')
    return None


def check_graph_task(graph_task: Optional[str], task: Optional[str], path: str, cfg=None,
                     graph_tasks: Sequence[str] = ()) -> Optional[str]:
    """The same rule for an exported graph (the ONNX Runtime backend).

    - A universal model's graph with a ``task`` input (``graph_tasks``: its task list, from the file's
      metadata) decodes any of its tasks: ``task`` must be one of them.
    - A universal model's graph without task input (``graph_task``: the one task it was exported for)
      serves that task: ``task`` None or equal is fine, another task fails, naming the file and the fix.
    - A single-task model's graph ignores ``task``, with a warning when it differs from the config's task.

    Returns:
        str | None: The task the graph decodes (None for a single-task model's graph).
    """
    if task is not None and task not in TASKS:
        raise ValueError(f'unknown task {task!r}; the tasks are {list(TASKS)}.')
    if graph_tasks:
        if task is None:
            raise ValueError(f'{path} is a universal model: choose its task with task=... (--task); it '
                             f'knows the tasks {list(graph_tasks)}.')
        if task not in graph_tasks:
            raise ValueError(f'unknown task {task!r} for {path}; it knows the tasks {list(graph_tasks)}.')
        return task
    if graph_task is None:
        _warn_single_task(task, config_task(cfg), 'graph')
        return None
    if task is not None and task != graph_task:
        raise ValueError(f"{path} is a universal model exported for the task '{graph_task}' only (a graph "
                         f"without task input); for '{task}', export a graph with a task input: "
                         'tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT --out ...')
    return graph_task


def _warn_single_task(task: Optional[str], trained_for: Optional[str], what_model: str) -> None:
    if task is not None and task != trained_for:
        what = f"for the task '{trained_for}'" if trained_for else 'for one task'
        warnings.warn(f"this single-task {what_model} was trained {what}; the requested task '{task}' is "
                      'ignored (its predictions are those of its own task).', stacklevel=3)


def _unwrap(model):
    while hasattr(model, 'module'):
        model = model.module
    return model
