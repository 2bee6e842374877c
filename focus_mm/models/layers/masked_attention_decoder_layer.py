"""One Mask2Former-style decoder layer: masked cross-attention -> self-attention -> FFN, post-norm."""
from typing import Optional

import torch
from torch import nn


class MaskedAttentionDecoderLayer(nn.Module):
    """Query update with cross-attention restricted by a mask, then self-attention, then an FFN.

    Each block is ``x = norm(x + dropout(block(x)))`` (post-norm, as in Mask2Former). Positional
    embeddings are added to queries and keys, never to values.

    Args:
        embed_dims (int): Query and memory width. Defaults to 256.
        num_heads (int): Attention heads. Defaults to 8.
        feedforward_channels (int): FFN hidden width. Defaults to 2048.
        dropout (float): Dropout after attention and inside the FFN. Defaults to 0.
    """

    def __init__(self, embed_dims: int = 256, num_heads: int = 8, feedforward_channels: int = 2048,
                 dropout: float = 0.0):
        super().__init__()
        self.cross_attn = nn.MultiheadAttention(embed_dims, num_heads, dropout=dropout, batch_first=True)
        self.self_attn = nn.MultiheadAttention(embed_dims, num_heads, dropout=dropout, batch_first=True)
        self.ffn = nn.Sequential(
            nn.Linear(embed_dims, feedforward_channels), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(feedforward_channels, embed_dims))
        self.norm_cross = nn.LayerNorm(embed_dims)
        self.norm_self = nn.LayerNorm(embed_dims)
        self.norm_ffn = nn.LayerNorm(embed_dims)
        self.dropout = nn.Dropout(dropout)

    def forward(self, query: torch.Tensor, query_pos: torch.Tensor, memory: torch.Tensor,
                memory_pos: torch.Tensor, attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Update the queries.

        Args:
            query (Tensor): B x Q x C.
            query_pos (Tensor): B x Q x C.
            memory (Tensor): B x N x C flattened features of one scale.
            memory_pos (Tensor): B x N x C.
            attn_mask (Tensor, optional): bool (B * num_heads) x Q x N, True = may NOT attend. A row that
                is all True must have been opened by the caller (softmax over nothing is NaN).

        Returns:
            Tensor: B x Q x C.
        """
        attn = self.cross_attn(query + query_pos, memory + memory_pos, memory, attn_mask=attn_mask,
                               need_weights=False)[0]
        query = self.norm_cross(query + self.dropout(attn))
        q = query + query_pos
        attn = self.self_attn(q, q, query, need_weights=False)[0]
        query = self.norm_self(query + self.dropout(attn))
        return self.norm_ffn(query + self.dropout(self.ffn(query)))
