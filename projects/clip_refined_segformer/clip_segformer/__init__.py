"""Project code of clip_refined_segformer: registered into mmseg's MODELS on import.

Configs load it with
``custom_imports = dict(imports=['focus_mm', 'projects.clip_refined_segformer.clip_segformer'])``
(the repository root must be on ``PYTHONPATH``, as for mmseg's own projects).
"""
from .clip_segformer_head import CLIPRefinedSegformerHead

__all__ = ['CLIPRefinedSegformerHead']
