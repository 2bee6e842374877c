"""Deformable attention in bfloat16 on mmcv 2.1: the kernel runs in float32 for bfloat16 inputs.

mmcv 2.1's CUDA kernel of ``MultiScaleDeformableAttention`` (used by ``FocusPixelDecoder`` and the edge
neck's injectors/extractors) is compiled for half, float and double only
(``AT_DISPATCH_FLOATING_TYPES_AND_HALF``), so a bf16 AMP run stops with
``"ms_deform_attn_forward_cuda" not implemented for 'BFloat16'``. Importing ``focus_mm`` calls
:func:`route_bfloat16_msda_through_float32`, which replaces
``mmcv.ops.multi_scale_deform_attn.MultiScaleDeformableAttnFunction`` (the name the module calls) by
:class:`MSDAFunctionBF16AsFloat32`: bf16 inputs run in float32 and the output is returned in bf16; other
dtypes go to mmcv's function unchanged. This import-time change is listed in
``docs/advanced_guides/changes_to_other_libraries.md``.

Upstream: open-mmlab/mmcv#2878 (open); retired by an mmcv release whose kernel dispatches bfloat16
(no mmcv 2.x release does: 2.1.0 is the one built here).
"""
import torch


class MSDAFunctionBF16AsFloat32:
    """Stands in for ``MultiScaleDeformableAttnFunction`` where ``MultiScaleDeformableAttention`` calls it.

    ``apply`` takes the same arguments as mmcv's function. A bfloat16 ``value`` is cast to float32 with the
    sampling locations and attention weights, the kernel runs in float32 and the output is cast back to
    bfloat16 (autograd casts the gradients the same way); any other dtype calls mmcv's function as it is.
    """

    #: mmcv's ``MultiScaleDeformableAttnFunction`` (set by the patch).
    function = None

    @classmethod
    def apply(cls, value, spatial_shapes, level_start_index, sampling_locations, attention_weights,
              im2col_step):
        if value.dtype != torch.bfloat16:
            return cls.function.apply(value, spatial_shapes, level_start_index, sampling_locations,
                                      attention_weights, im2col_step)
        out = cls.function.apply(value.float(), spatial_shapes, level_start_index, sampling_locations.float(),
                                 attention_weights.float(), im2col_step)
        return out.to(value.dtype)


def route_bfloat16_msda_through_float32() -> None:
    """Make ``MultiScaleDeformableAttention`` call :class:`MSDAFunctionBF16AsFloat32` (idempotent)."""
    import mmcv.ops.multi_scale_deform_attn as msda

    if msda.MultiScaleDeformableAttnFunction is not MSDAFunctionBF16AsFloat32:
        MSDAFunctionBF16AsFloat32.function = msda.MultiScaleDeformableAttnFunction
        msda.MultiScaleDeformableAttnFunction = MSDAFunctionBF16AsFloat32


route_bfloat16_msda_through_float32()
