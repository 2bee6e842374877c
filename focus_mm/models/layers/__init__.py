"""Building blocks shared by the necks and heads (not registered)."""
from .masked_attention_decoder_layer import MaskedAttentionDecoderLayer
from .positional_encoding import SinePositionalEncoding2D
from .task_embedding import TASK_CONDITIONING, TaskEmbedding, build_task_embeddings, task_indices
from .task_norm_affine import TaskNormAffine

__all__ = [
    'SinePositionalEncoding2D', 'MaskedAttentionDecoderLayer', 'TASK_CONDITIONING', 'TaskEmbedding',
    'TaskNormAffine', 'build_task_embeddings', 'task_indices'
]
