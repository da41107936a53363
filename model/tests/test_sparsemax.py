"""Sparsemax: simplex projection properties."""

import torch

from hitscribe_trainer.sparsemax import sparsemax


def test_outputs_lie_on_the_simplex():
    z = torch.randn(64, 9) * 3
    p = sparsemax(z, dim=-1)
    assert torch.all(p >= 0)
    assert torch.allclose(p.sum(-1), torch.ones(64), atol=1e-5)


def test_is_sparse_for_spread_inputs_and_keeps_order():
    z = torch.tensor([[3.0, 1.0, 0.2, -2.0]])
    p = sparsemax(z)
    assert p[0, 0] == 1.0 and torch.all(p[0, 1:] == 0)
    z = torch.tensor([[0.5, 0.4, -3.0]])
    p = sparsemax(z)[0]
    assert p[0] > p[1] > 0 and p[2] == 0


def test_translation_invariant_and_works_along_any_dim():
    z = torch.randn(5, 7)
    assert torch.allclose(sparsemax(z, 0), sparsemax(z + 4.0, 0), atol=1e-6)
    assert torch.allclose(sparsemax(z, 0), sparsemax(z.t(), 1).t(), atol=1e-6)


def test_matches_the_euclidean_projection_on_small_case():
    # For two entries sparsemax([a, b]) = clip((a - b + 1) / 2, 0, 1), then 1 - that.
    a, b = 0.3, 0.1
    p = sparsemax(torch.tensor([[a, b]]))[0]
    expected = min(max((a - b + 1) / 2, 0), 1)
    assert abs(p[0].item() - expected) < 1e-6


def test_gradients_flow():
    z = torch.randn(3, 6, requires_grad=True)
    (sparsemax(z) * torch.arange(6.0)).sum().backward()
    assert z.grad is not None and torch.isfinite(z.grad).all()
