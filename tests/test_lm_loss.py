"""The LM's fused output-layer loss gives torch's cross-entropy loss and gradients, chunk boundaries included."""

from __future__ import annotations

import pytest
import torch

import core.models.lm_loss as lm_loss


@pytest.mark.parametrize("n_rows, n_items, chunk_floats", [(300, 997, 1 << 20), (300, 997, 16 * 997 + 5), (1, 5, 1 << 20)])
def test_fused_loss_and_gradients_equal_plain_cross_entropy(monkeypatch, n_rows, n_items, chunk_floats):
    monkeypatch.setattr(lm_loss, "CHUNK_FLOATS", chunk_floats)  # 16 rows a chunk: 300 rows end in a partial one
    gen = torch.Generator().manual_seed(0)
    hidden = torch.randn(n_rows, 24, generator=gen, requires_grad=True)
    weight = (torch.randn(n_items, 24, generator=gen) * 3).requires_grad_()  # large logits: overflow would show
    bias = torch.randn(n_items, generator=gen, requires_grad=True)
    target = torch.randint(0, n_items, (n_rows,), generator=gen)

    plain = torch.nn.functional.cross_entropy(torch.addmm(bias, hidden, weight.T), target)
    plain.mul(2.5).backward()  # a non-unit upstream gradient must scale the fused gradients too
    expected = [p.grad.clone() for p in (hidden, weight, bias)]
    for p in (hidden, weight, bias):
        p.grad = None

    fused = lm_loss.fused_cross_entropy(hidden, weight, bias, target)
    fused.mul(2.5).backward()
    assert fused.item() == pytest.approx(plain.item(), rel=1e-6)
    for got, want in zip((hidden.grad, weight.grad, bias.grad), expected):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_fused_loss_without_gradients_is_the_same_number():
    gen = torch.Generator().manual_seed(1)
    hidden, weight, bias = torch.randn(50, 8, generator=gen), torch.randn(40, 8, generator=gen), torch.zeros(40)
    target = torch.randint(0, 40, (50,), generator=gen)
    with torch.no_grad():
        fused = lm_loss.fused_cross_entropy(hidden, weight, bias, target)
    plain = torch.nn.functional.cross_entropy(hidden @ weight.T + bias, target)
    assert fused.item() == pytest.approx(plain.item(), rel=1e-6)


def test_text_alignment_ranks_each_target_among_the_batch_targets_by_text_alone():
    from core.models.lm_network import gpt2_backbone, item_lm
    from core.models.lm_trainer import text_alignment_loss

    torch.manual_seed(0)
    backbone, offset = gpt2_backbone(6, 8, 16, 1, 2, None, 0.0)
    net = item_lm(backbone, offset, 6, 1.0, text_dim=5)
    net.item_text.copy_(torch.randn(6, 5))
    torch.nn.init.normal_(net.text_proj.weight)
    hidden = torch.randn(4, 16)
    target = torch.tensor([3, 1, 3, 5])  # three distinct items: a 3-way softmax per row
    loss = text_alignment_loss(net, hidden, target)
    text = net.text_proj(net.item_text[torch.tensor([1, 3, 5])])
    expected = torch.nn.functional.cross_entropy(hidden @ text.T, torch.tensor([1, 0, 1, 2]))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    loss.backward()
    assert net.text_proj.weight.grad.abs().sum() > 0  # it trains the text map (and only through it, here)
    assert net.embedding.weight.grad is None


def test_bf16_loss_and_gradients_are_close_to_float32():
    gen = torch.Generator().manual_seed(2)
    hidden = torch.randn(200, 32, generator=gen, requires_grad=True)
    weight = (torch.randn(500, 32, generator=gen) * 0.3).requires_grad_()
    bias = torch.randn(500, generator=gen, requires_grad=True)
    target = torch.randint(0, 500, (200,), generator=gen)
    grads = []
    for bf16 in (False, True):
        for p in (hidden, weight, bias):
            p.grad = None
        loss = lm_loss.fused_cross_entropy(hidden, weight, bias, target, bf16)
        loss.backward()
        grads.append((loss.item(), [p.grad.clone() for p in (hidden, weight, bias)]))
    (loss32, g32), (loss16, g16) = grads
    assert loss16 == pytest.approx(loss32, rel=1e-3)
    for a, b in zip(g32, g16):
        assert float((a - b).norm() / a.norm()) < 0.02  # bfloat16 keeps ~3 significant digits
