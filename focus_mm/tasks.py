"""The five foreground tasks of FOCUS, and the checks shared by datasets, models, metrics and tools.

A sample's task travels in its metainfo under :data:`TASK_KEY` (``ForegroundDataset(task=...)`` puts
it there, ``PackSegInputs(meta_keys=(..., 'task'))`` keeps it). A universal model
(``GroundQueryHead(tasks=...)``) reads it to condition its queries; the multi-task metric reads it to
pick the task's metric set.
"""
from typing import Iterable, Optional, Sequence, Tuple

#: salient object, camouflaged object, shadow, defocus blur and forgery detection.
TASKS: Tuple[str, ...] = ('sod', 'cod', 'sd', 'dbd', 'fd')
#: the metainfo key that names a sample's task.
TASK_KEY = 'task'


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
