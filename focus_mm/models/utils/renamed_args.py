"""Refuse constructor arguments that were renamed or removed, naming what replaces them."""
import functools
from typing import Callable, Dict, Optional


def refuse_old_arguments(renamed: Optional[Dict[str, str]] = None,
                         removed: Optional[Dict[str, str]] = None) -> Callable:
    """Decorate an ``__init__`` so that old keyword names stop with a message instead of a bare TypeError.

    mmengine's ``deprecated_api_warning`` translates an old name with a warning and goes on, which leaves
    two names for one meaning in circulation; here the config is corrected once, told what to write.

    Args:
        renamed (dict, optional): old name -> new name.
        removed (dict, optional): old name -> why it is gone and what to do instead.

    Returns:
        Callable: the decorator.
    """
    renamed = dict(renamed or {})
    removed = dict(removed or {})

    def decorate(init: Callable) -> Callable:

        @functools.wraps(init)
        def checked_init(self, *args, **kwargs):
            problems = [f'`{old}` is now `{new}`' for old, new in renamed.items() if old in kwargs]
            problems += [f'`{old}` was removed: {why}' for old, why in removed.items() if old in kwargs]
            if problems:
                raise TypeError(f'{type(self).__name__}: ' + '; '.join(problems) + ' (update the config)')
            init(self, *args, **kwargs)

        return checked_init

    return decorate
