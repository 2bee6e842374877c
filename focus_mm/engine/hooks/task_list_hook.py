"""Record a universal model's task list in its checkpoints (``checkpoint['meta']['tasks']``)."""
from typing import Optional, Tuple

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmseg.registry import HOOKS


def model_tasks(model) -> Tuple[str, ...]:
    """The tasks of a universal model (its decode head's ``tasks``); ``()`` for a single-task model.

    Args:
        model (nn.Module): A segmentor, possibly inside DDP / a TTA wrapper.
    """
    while is_model_wrapper(model) or hasattr(model, 'module'):
        model = model.module
    head = getattr(model, 'decode_head', None)
    return tuple(getattr(head, 'tasks', ()) or ())


def checkpoint_tasks(checkpoint: dict) -> Optional[Tuple[str, ...]]:
    """The task list a checkpoint records in its ``meta``, or None when it records none."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    tasks = meta.get('tasks') if isinstance(meta, dict) else None
    return None if tasks is None else tuple(tasks)


@HOOKS.register_module()
class TaskListHook(Hook):
    """Write the model's task list into every checkpoint, and check it when one is loaded to resume.

    A universal checkpoint then says which tasks it serves (``FocusInferencer``, ``tools/infer.py
    --task`` and ``tools/test.py --task`` read it); resuming from a checkpoint with another task list fails,
    since its per-task embeddings would mean other tasks.
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        tasks = model_tasks(runner.model)
        if tasks:
            checkpoint.setdefault('meta', {})['tasks'] = list(tasks)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        saved, tasks = checkpoint_tasks(checkpoint), model_tasks(runner.model)
        if saved is not None and tasks and saved != tasks:
            raise ValueError(f'TaskListHook: the checkpoint was trained for the tasks {list(saved)}, this '
                             f'model is built for {list(tasks)}; use the config it was trained with.')
