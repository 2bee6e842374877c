import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from _tiny_models import tiny_clip_loss_cfg, tiny_head_cfg, tiny_pixel_decoder_cfg
from focus_mm.models.decode_heads import GroundQueryHead

IN_CHANNELS = [8, 8, 8, 8]
SIZE = 128  # input image size; the maps below are at strides 4..32


pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


def _feats(batch=2, token_map=None):
    feats = [torch.randn(batch, 8, SIZE // s, SIZE // s) for s in (4, 8, 16, 32)]
    if token_map is not None:
        feats.append(token_map)
    return feats


def _central_square_tokens(batch=2, dims=16, size=8):
    fg = torch.zeros(size, size, dtype=torch.bool)
    fg[2:6, 2:6] = True
    a, b = torch.randn(dims) * 3, torch.randn(dims) * 3
    tokens = torch.where(fg[..., None], a, b) + 0.05 * torch.randn(batch, size, size, dims)
    return tokens.permute(0, 3, 1, 2).contiguous()


def _samples(masks):
    samples = []
    for mask in masks:
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=mask[None].long())
        sample.set_metainfo(dict(img_shape=(SIZE, SIZE), pad_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE)))
        samples.append(sample)
    return samples


def _ellipse_masks(batch=2):
    yy, xx = torch.meshgrid(torch.arange(SIZE), torch.arange(SIZE), indexing='ij')
    masks = []
    for i in range(batch):
        c = 40 + 20 * i
        masks.append((((yy - c) / 25.0)**2 + ((xx - 64) / 35.0)**2 <= 1).long())
    return masks


def _build(**kwargs):
    head = MODELS.build(tiny_head_cfg(IN_CHANNELS, **kwargs))
    head.init_weights()
    return head


def test_decoder_parameter_count_matches_the_authors():
    """Full width: 9 layers, 256 wide, 8 heads, FFN 2048, class/mask/box heads (authors: 14,541,831)."""
    head = GroundQueryHead(in_channels=[64, 64, 64, 64], pixel_decoder=tiny_pixel_decoder_cfg())
    total = sum(p.numel() for p in head.parameters())
    pixel_decoder = sum(p.numel() for p in head.pixel_decoder.parameters())
    assert total - pixel_decoder == 14_541_831
    assert len(head.layers) == 9 and head.query_feat.weight.shape == (2, 256)
    assert head.out_channels == 1 and head.threshold == 0.5
    assert not hasattr(head, 'conv_seg')


def test_forward_gives_one_prediction_set_per_layer_plus_one():
    head = _build(num_decoder_layers=3)
    cls, masks, boxes = head(_feats())
    assert len(cls) == len(masks) == len(boxes) == 4
    assert cls[-1].shape == (2, 2, 3)
    assert masks[-1].shape == (2, 2, SIZE // 4, SIZE // 4)
    assert boxes[-1].shape == (2, 2, 4) and boxes[-1].min() >= 0 and boxes[-1].max() <= 1


def test_every_loss_term_is_finite_and_reaches_its_own_parameters():
    head = _build(num_decoder_layers=2, loss_clip=tiny_clip_loss_cfg())
    head.train()
    losses = head.loss(_feats(), _samples(_ellipse_masks()), {}, images=torch.rand(2, 3, SIZE, SIZE))
    terms = ['loss_cls', 'loss_mask', 'loss_dice', 'loss_bbox', 'loss_giou']
    expected = {p + t for p in ('', 'd0.', 'd1.') for t in terms + ['loss_clip']}
    assert set(losses) == expected
    for name, value in losses.items():
        assert value.dim() == 0 and torch.isfinite(value), name
    owners = dict(cls=head.cls_embed.weight, mask=head.mask_embed.layers[-1].weight,
                  box=head.bbox_embed.layers[-1].weight)
    reaches = dict(loss_cls={'cls'}, loss_mask={'mask'}, loss_dice={'mask'}, loss_bbox={'box'},
                   loss_giou={'box'}, loss_clip={'mask'}, **{'d0.loss_clip': {'mask'}})
    for name, owners_expected in reaches.items():
        grads = torch.autograd.grad(losses[name], list(owners.values()) + [head.query_feat.weight],
                                    retain_graph=True, allow_unused=True)
        for (owner, _), grad in zip(owners.items(), grads[:-1]):
            moved = grad is not None and grad.abs().sum() > 0
            assert moved == (owner in owners_expected), f'{name} -> {owner}'
        assert grads[-1] is not None and grads[-1].abs().sum() > 0, f'{name} -> query_feat'


def test_every_parameter_gets_a_gradient():
    """Nothing idles (DDP with find_unused_parameters=False), M0 on and three levels in use."""
    head = _build(num_decoder_layers=3, prior_index=4, loss_clip=tiny_clip_loss_cfg())
    losses = head.loss(_feats(token_map=_central_square_tokens()), _samples(_ellipse_masks()), {},
                       images=torch.rand(2, 3, SIZE, SIZE))
    sum(losses.values()).backward()
    idle = [name for name, p in head.named_parameters() if p.grad is None]
    assert idle == []


def test_loss_weights_come_from_the_config():
    masks = _ellipse_masks()
    feats = _feats()
    torch.manual_seed(1)
    base = _build(num_decoder_layers=1)
    torch.manual_seed(1)
    doubled = _build(num_decoder_layers=1, loss_cls=dict(type='QueryClassLoss', loss_weight=2.0),
                     loss_giou=dict(type='BoxGIoULoss', loss_weight=4.0))
    torch.manual_seed(2)
    a = base.loss(feats, _samples(masks), {})
    torch.manual_seed(2)
    b = doubled.loss(feats, _samples(masks), {})
    assert torch.allclose(b['loss_cls'], 2 * a['loss_cls'])
    assert torch.allclose(b['loss_giou'], 2 * a['loss_giou'])
    assert torch.allclose(b['loss_bbox'], a['loss_bbox'])


def test_default_losses_have_the_focus_weights():
    head = _build(num_decoder_layers=1)
    weights = {name: getattr(head, name).loss_weight
               for name in ('loss_cls', 'loss_mask', 'loss_dice', 'loss_bbox', 'loss_giou')}
    assert weights == dict(loss_cls=1.0, loss_mask=5.0, loss_dice=5.0, loss_bbox=5.0, loss_giou=2.0)
    assert head.loss_cls.class_weight(3).tolist() == [1.0, 1.0, pytest.approx(0.1)]


def test_train_cfg_sets_the_sampling_and_the_rest_keeps_its_defaults():
    head = _build(num_decoder_layers=1, train_cfg=dict(num_points=300, importance_sample_ratio=0.5))
    assert (head.num_points, head.oversample_ratio, head.importance_sample_ratio) == (300, 3.0, 0.5)
    assert head.num_matching_points == 1024  # tiny_head_cfg's
    assert [type(cost).__name__ for cost in head.assigner.match_costs] == [
        'ClassificationCost', 'WeightedCrossEntropyLossCost', 'WeightedDiceCost']
    default = MODELS.build(dict(type='GroundQueryHead', in_channels=IN_CHANNELS, feat_channels=32,
                                pixel_decoder=tiny_pixel_decoder_cfg(), num_decoder_layers=1))
    assert (default.num_points, default.oversample_ratio, default.importance_sample_ratio,
            default.num_matching_points) == (12544, 3.0, 0.75, 12544)
    assert [cost.weight for cost in default.assigner.match_costs] == [1.0, 5.0, 5.0]


def test_train_cfg_keys_are_checked():
    with pytest.raises(KeyError, match=r"unknown key\(s\) \['num_point'\] in model.decode_head.train_cfg"):
        _build(train_cfg=dict(num_point=10))
    with pytest.raises(ValueError, match='train_cfg.oversample_ratio >= 1'):
        _build(train_cfg=dict(oversample_ratio=0.5))
    head = _build(num_decoder_layers=1)
    with pytest.raises(KeyError, match=r"\['num_points'\] from model.decode_head.train_cfg"):
        head.loss(_feats(1), _samples(_ellipse_masks(1)), dict(num_points=10))  # the segmentor's train_cfg


def test_empty_and_full_masks_give_finite_losses_and_gradients():
    head = _build(num_decoder_layers=2)
    empty, full = torch.zeros(SIZE, SIZE), torch.ones(SIZE, SIZE)
    ignored = torch.full((SIZE, SIZE), 255)
    losses = head.loss(_feats(3), _samples([empty, full, ignored]), {})
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    assert all(torch.isfinite(p.grad).all() for p in head.parameters() if p.grad is not None)


def test_m0_blocks_first_layer_attention_outside_the_prior():
    head = _build(num_decoder_layers=2, prior_index=4)
    head.eval()
    feats = _feats(token_map=_central_square_tokens())
    prior = head.compute_prior(feats)
    first_size = (SIZE // 32, SIZE // 32)
    small = F.interpolate(prior[:, None].float(), size=first_size, mode='bilinear')[:, 0] >= 0.5
    assert small.any() and not small.all()

    captured = {}

    def grab(module, args, kwargs):
        if 'weights' not in captured:
            call = dict(kwargs, need_weights=True, average_attn_weights=False)
            captured['weights'] = module.forward(*args, **call)[1]  # B x heads x Q x N, no hooks

    hook = head.layers[0].cross_attn.register_forward_pre_hook(grab, with_kwargs=True)
    with torch.no_grad():
        with_prior = head.predict(feats, [dict(img_shape=(SIZE, SIZE))], {})
    hook.remove()
    weights = captured['weights']
    inside = small.flatten(1)[:, None]  # B x 1 x N
    fg_weights, bg_weights = weights[:, :, 0], weights[:, :, 1]
    assert torch.all(fg_weights.masked_select(~inside.expand_as(fg_weights)) == 0)
    assert torch.all(bg_weights.masked_select(inside.expand_as(bg_weights)) == 0)
    assert fg_weights.sum(-1).allclose(torch.ones(())) and bg_weights.sum(-1).allclose(torch.ones(()))

    head.prior_index = None  # the ablation switch
    with torch.no_grad():
        without_prior = head.predict(feats, [dict(img_shape=(SIZE, SIZE))], {})
    assert not torch.allclose(with_prior, without_prior)


def test_joint_rule_holds_pixel_by_pixel_and_prediction_is_deterministic():
    head = _build(num_decoder_layers=2)
    head.eval()
    feats = _feats()
    metas = [dict(img_shape=(SIZE, SIZE), pad_shape=(SIZE, SIZE))]
    with torch.no_grad():
        logits = head.predict(feats, metas, {})
        again = head.predict(feats, metas, {})
        cls, masks, _ = head(feats)
    assert logits.shape == (2, 1, SIZE, SIZE)
    assert torch.equal(logits, again)
    probs = cls[-1].softmax(-1)
    up = F.interpolate(masks[-1], size=(SIZE, SIZE), mode='bilinear').sigmoid()
    s_fg = (probs[:, :, 0, None, None] * up).sum(1)
    s_bg = (probs[:, :, 1, None, None] * up).sum(1)
    p_fg = logits[:, 0].sigmoid()
    assert torch.allclose(p_fg, s_fg / (s_fg + s_bg), atol=1e-5)
    decided = (s_fg - s_bg).abs() > 1e-5  # leave out exact ties
    assert torch.equal((logits[:, 0] > 0)[decided], (s_fg > s_bg)[decided])


def test_bad_targets_and_missing_prior_fail_clearly():
    head = _build(num_decoder_layers=1)
    bad = torch.zeros(SIZE, SIZE)
    bad[:4] = 2
    with pytest.raises(ValueError, match=r'values \[0, 2\].*0 \(background\), 1 \(foreground\)'):
        head.loss(_feats(1), _samples([bad]), {})
    head = _build(num_decoder_layers=1, prior_index=4)
    with pytest.raises(IndexError, match='prior_index=4.*prior_index=None'):
        head(_feats())
    with pytest.raises(ValueError, match='out_channels must be 1'):
        MODELS.build(tiny_head_cfg(IN_CHANNELS, out_channels=2))


@pytest.mark.parametrize('all_sets', [True, False])
def test_clip_loss_covers_every_prediction_set_unless_switched_off(all_sets):
    head = _build(num_decoder_layers=3, loss_clip=tiny_clip_loss_cfg(), clip_all_sets=all_sets)
    calls = []
    hook = head.loss_clip.register_forward_hook(lambda module, args, out: calls.append(out.detach()))
    losses = head.loss(_feats(), _samples(_ellipse_masks()), {}, images=torch.rand(2, 3, SIZE, SIZE))
    hook.remove()
    clip_keys = sorted(k for k in losses if k.endswith('loss_clip'))
    if all_sets:  # 4 prediction sets: before the first layer and after each of the 3 layers
        assert len(calls) == 4 and clip_keys == ['d0.loss_clip', 'd1.loss_clip', 'd2.loss_clip', 'loss_clip']
    else:
        assert len(calls) == 1 and clip_keys == ['loss_clip']
    assert torch.allclose(sum(losses[k] for k in clip_keys), sum(calls))
    assert all(torch.isfinite(c) and c > 0 for c in calls)


@pytest.mark.parametrize('joint', [True, False])
def test_image_without_foreground_gets_no_clip_gradient(joint):
    """The empty image's masks get no gradient from any CLIP term; the other image's masks do."""
    head = _build(num_decoder_layers=2, loss_clip=tiny_clip_loss_cfg(), joint_prediction=joint)
    cls, masks, boxes = head(_feats())
    masks = [m.detach().requires_grad_(True) for m in masks]
    empty, ellipse = torch.zeros(SIZE, SIZE), _ellipse_masks(1)[0]
    images = torch.rand(2, 3, SIZE, SIZE)
    losses = head.loss_by_feat((cls, masks, boxes), _samples([empty, ellipse]), images=images)
    clip_terms = [v for k, v in losses.items() if k.endswith('loss_clip')]
    assert len(clip_terms) == 3
    grads = torch.autograd.grad(sum(clip_terms), masks)
    for grad in grads:
        assert torch.count_nonzero(grad[0]) == 0  # the image without foreground
        assert grad[1].abs().sum() > 0
    # A batch of empty images: zero CLIP loss that still keeps the graph.
    losses = head.loss_by_feat((cls, masks, boxes), _samples([empty, empty]), images=images)
    clip_total = sum(v for k, v in losses.items() if k.endswith('loss_clip'))
    assert clip_total == 0 and clip_total.requires_grad


def test_m0_uses_the_image_tokens_and_closes_padding_to_both_queries():
    """Image 0 fills the left half of the batch: its prior and its layer-1 attention stay there."""
    head = _build(num_decoder_layers=2, prior_index=4, prior_patch_size=SIZE // 8)
    head.eval()
    tokens = _central_square_tokens()
    tokens[0, :, :, 4:] = 50.0 * torch.randn(tokens.shape[1], 1, 1)  # padding tokens unlike the image
    feats = _feats(token_map=tokens)
    metas = [dict(img_shape=(SIZE, SIZE // 2)), dict(img_shape=(SIZE, SIZE))]
    prior = head.compute_prior(feats, metas)
    alone = head.compute_prior([f[:1, ..., :f.shape[-1] // 2] for f in feats], metas[:1])
    assert torch.equal(prior[0, :, :4], alone[0]) and not prior[0, :, 4:].any()
    assert prior[0, :, :4].any()

    captured = {}

    def grab(module, args, kwargs):
        if 'weights' not in captured:
            call = dict(kwargs, need_weights=True, average_attn_weights=False)
            captured['weights'] = module.forward(*args, **call)[1]  # B x heads x Q x N

    hook = head.layers[0].cross_attn.register_forward_pre_hook(grab, with_kwargs=True)
    with torch.no_grad():
        head.predict(feats, metas, {})
    hook.remove()
    weights = captured['weights'].view(2, -1, 2, SIZE // 32, SIZE // 32)
    padded = weights[0, :, :, :, SIZE // 64:]  # image 0, both queries, the padded right half
    assert torch.count_nonzero(padded) == 0
    assert weights[0].sum(dim=(-2, -1)).allclose(torch.ones(()))
