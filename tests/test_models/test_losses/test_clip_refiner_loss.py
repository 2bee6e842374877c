import pytest
import torch
from mmseg.registry import MODELS

from _tiny_models import tiny_clip_loss_cfg
from focus_mm.models.losses import TASK_PROMPTS, CLIPRefinerLoss


pytestmark = pytest.mark.usefixtures('one_thread')  # tests/conftest.py


@pytest.fixture(scope='module')
def clip_loss():
    torch.manual_seed(0)
    return MODELS.build(tiny_clip_loss_cfg())


def test_clip_is_frozen_and_outside_the_module_tree(clip_loss):
    assert isinstance(clip_loss, CLIPRefinerLoss)
    assert list(clip_loss.parameters()) == []
    assert clip_loss.state_dict() == {}
    clip = clip_loss.clip
    assert sum(p.numel() for p in clip.parameters()) > 0
    assert not any(p.requires_grad for p in clip.parameters())
    assert not clip.training


def test_gradient_reaches_mask_logits_and_is_finite(clip_loss):
    images = torch.rand(2, 3, 48, 48)
    fg = torch.randn(2, 12, 12, requires_grad=True)
    bg = torch.randn(2, 12, 12, requires_grad=True)
    loss = clip_loss(fg, bg, images)
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    assert fg.grad.abs().sum() > 0 and bg.grad.abs().sum() > 0
    assert all(p.grad is None for p in clip_loss.clip.parameters())
    # bg=None: the complement of the fg mask (single-channel heads).
    fg2 = fg.detach()[:, None].clone().requires_grad_(True)
    clip_loss(fg2, None, images).backward()
    assert fg2.grad.abs().sum() > 0


def test_loss_matches_the_paper_formula(clip_loss):
    images = torch.rand(1, 3, 32, 32)
    fg, bg = torch.randn(1, 8, 8), torch.randn(1, 8, 8)
    loss = clip_loss(fg, bg, images)
    clip = clip_loss.clip
    size = clip_loss.image_size
    up = lambda m: torch.nn.functional.interpolate(m[:, None], size=size, mode='bilinear').sigmoid()  # noqa
    img = torch.nn.functional.interpolate(images, size=size, mode='bilinear')
    fused = torch.cat([img * up(fg), img * up(bg)])
    fused = (fused - clip_loss._mean) / clip_loss._std
    with torch.no_grad():
        i_f, i_b = torch.nn.functional.normalize(clip.encode_image(fused), dim=-1)
        t_f, t_b = torch.nn.functional.normalize(clip.encode_text(clip_loss._tokens), dim=-1)
    tau = clip_loss.temperature

    def nll(pos, neg):
        return -torch.log(torch.exp(pos / tau) / (torch.exp(pos / tau) + torch.exp(neg / tau)))

    l_i2t = nll(i_f @ t_f, i_f @ t_b) + nll(i_b @ t_b, i_b @ t_f)
    l_t2i = nll(t_f @ i_f, t_f @ i_b) + nll(t_b @ i_b, t_b @ i_f)
    assert torch.allclose(loss, (l_i2t + l_t2i) / 2, atol=1e-5)


def test_text_features_computed_once(monkeypatch):
    loss = MODELS.build(tiny_clip_loss_cfg(task='sd'))
    calls = []
    original = loss.clip.encode_text
    monkeypatch.setattr(loss.clip, 'encode_text', lambda *a, **k: calls.append(1) or original(*a, **k))
    for _ in range(3):
        loss(torch.randn(1, 8, 8), None, torch.rand(1, 3, 16, 16))
    assert len(calls) == 1
    assert loss.prompts == TASK_PROMPTS['sd']


def test_weight_and_prompts_from_config():
    base = MODELS.build(tiny_clip_loss_cfg(task='fd'))
    torch.manual_seed(0)
    weighted = MODELS.build(tiny_clip_loss_cfg(task='fd', loss_weight=0.01))
    weighted.__dict__['clip'] = base.clip
    args = (torch.randn(1, 8, 8), torch.randn(1, 8, 8), torch.rand(1, 3, 16, 16))
    assert torch.allclose(weighted(*args), 0.01 * base(*args))
    custom = MODELS.build(tiny_clip_loss_cfg(prompts=('a cat', 'no cat')))
    assert custom.prompts == ('a cat', 'no cat')


def test_unknown_task_lists_known_ones():
    with pytest.raises(KeyError, match="unknown task 'xyz'.*'cod'.*'dbd'.*'fd'.*'sd'.*'sod'"):
        MODELS.build(tiny_clip_loss_cfg(task='xyz'))


def test_missing_local_checkpoint_names_the_path(tmp_path):
    missing = str(tmp_path / 'clip' / 'ViT-B-16.pt')
    with pytest.raises(FileNotFoundError, match='ViT-B-16.pt.*not found.*open_clip'):
        CLIPRefinerLoss(pretrained=missing)


@pytest.mark.parametrize('quick_gelu', [True, False])
def test_quick_gelu_switch(quick_gelu):
    loss = MODELS.build(tiny_clip_loss_cfg(quick_gelu=quick_gelu))
    activation = type(loss.clip.visual.transformer.resblocks[0].mlp.gelu).__name__
    assert (activation == 'QuickGELU') == quick_gelu


def test_keep_leaves_images_out_of_the_mean_and_the_gradient(clip_loss):
    images = torch.rand(3, 3, 32, 32)
    fg = torch.randn(3, 8, 8, requires_grad=True)
    bg = torch.randn(3, 8, 8, requires_grad=True)
    keep = torch.tensor([True, False, True])
    loss = clip_loss(fg, bg, images, keep)
    assert torch.allclose(loss, clip_loss(fg[keep], bg[keep], images[keep]))
    loss.backward()
    assert torch.count_nonzero(fg.grad[1]) == 0 and torch.count_nonzero(bg.grad[1]) == 0
    assert fg.grad[0].abs().sum() > 0 and bg.grad[2].abs().sum() > 0
    none = clip_loss(fg, bg, images, torch.zeros(3, dtype=torch.bool))
    assert none == 0 and none.requires_grad
    with pytest.raises(ValueError, match='one entry per image'):
        clip_loss(fg, bg, images, torch.ones(2, dtype=torch.bool))
