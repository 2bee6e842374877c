"""Record a universal model's task list in its checkpoints (``checkpoint['meta']['tasks']``)."""
from mmengine.hooks import Hook

from mmseg.registry import HOOKS

from ...tasks import checkpoint_tasks, model_tasks


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
