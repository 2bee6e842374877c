"""The five foreground tasks of FOCUS, and the checks shared by datasets, models, metrics and tools.

A sample's task travels in its metainfo under :data:`TASK_KEY` (``ForegroundDataset(task=...)`` puts
it there, ``PackSegInputs(meta_keys=(..., 'task'))`` keeps it). A universal model
(``GroundQueryHead(tasks=...)``) reads it to condition its queries; the multi-task metric reads it to
pick the task's metric set. A universal checkpoint records its task list in ``meta['tasks']``
(``TaskListHook``), and a universal model's ONNX graph its task list under :data:`TASKS_METADATA_KEY`.
"""
from typing import Iterable, Optional, Sequence, Tuple

from mmengine.model import is_model_wrapper

#: salient object, camouflaged object, shadow, defocus blur and forgery detection.
TASKS: Tuple[str, ...] = ('sod', 'cod', 'sd', 'dbd', 'fd')
#: the metainfo key that names a sample's task.
TASK_KEY = 'task'
#: ONNX metadata key of the task a universal model's graph was exported for, in graphs without a task
#: input (one graph per task, an older export); read for those files only.
TASK_METADATA_KEY = 'focus_mm.task'
#: ONNX metadata key of a universal model's task list (JSON): a graph's ``task`` input indexes it.
TASKS_METADATA_KEY = 'focus_mm.tasks'


def check_task(task: str, known: Sequence[str] = TASKS, who: str = 'focus_mm') -> str:
    """Return ``task`` if it is one of ``known``, else raise naming the known tasks.

    Args:
        task (str): The task name.
        known (Sequence[str]): The tasks allowed here. Defaults to :data:`TASKS`.
        who (str): Prefix of the error message (the component that checks).

    Returns:
        str: ``task``.

    Raises:
        KeyError: ``task`` is not in ``known``.
    """
    if task not in known:
        raise KeyError(f'{who}: unknown task {task!r}; known tasks: {list(known)}.')
    return task


def check_task_list(tasks: Iterable[str], who: str = 'focus_mm') -> Tuple[str, ...]:
    """Validate a task list (non-empty, each in :data:`TASKS`, no repeats) and return it as a tuple."""
    tasks = tuple(tasks)
    if not tasks:
        raise ValueError(f'{who}: the task list is empty; give some of {list(TASKS)}.')
    for task in tasks:
        check_task(task, TASKS, who)
    if len(set(tasks)) != len(tasks):
        raise ValueError(f'{who}: the task list {list(tasks)} repeats a task.')
    return tasks


def sample_task(meta: dict, who: str = 'focus_mm') -> Optional[str]:
    """The task named in a sample's metainfo (a dict, or anything with ``metainfo``), or None."""
    if hasattr(meta, 'metainfo'):
        meta = meta.metainfo
    return meta.get(TASK_KEY) if isinstance(meta, dict) else None


def model_tasks(model) -> Tuple[str, ...]:
    """The tasks of a universal model (its decode head's ``tasks``); ``()`` for a single-task model.

    Args:
        model (nn.Module): A segmentor, possibly inside DDP / a TTA wrapper.

    Returns:
        tuple[str]: The head's task list, empty for a single-task model.
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


def config_task(cfg) -> Optional[str]:
    """The single task a config is about: its test evaluator's ``task``, else its test set's ``task``."""
    if cfg is None:
        return None
    evaluator = cfg.get('test_evaluator')
    evaluators = evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
    for item in evaluators:
        if isinstance(item, dict) and isinstance(item.get('task'), str):
            return item['task']
    loader = cfg.get('test_dataloader')
    dataset = loader.get('dataset') if isinstance(loader, dict) else None
    if isinstance(dataset, dict):
        for part in dataset.get('datasets', [dataset]):
            if isinstance(part, dict) and isinstance(part.get(TASK_KEY), str):
                return part[TASK_KEY]
    return None
