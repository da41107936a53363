"""Sparsemax (Martins & Astudillo, 2016): the Euclidean projection onto the probability simplex."""

from __future__ import annotations

import torch


def sparsemax(z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Sparsemax of ``z`` along ``dim``: ``max(z - tau, 0)`` with ``tau`` such that the sum is 1.

    Sort-based and differentiable through autograd (the support is piecewise constant).
    """
    z = z.transpose(dim, -1)
    z = z - z.max(dim=-1, keepdim=True).values  # numerically safer, result unchanged
    zs, _ = torch.sort(z, dim=-1, descending=True)
    k = torch.arange(1, z.shape[-1] + 1, device=z.device, dtype=z.dtype)
    cumsum = zs.cumsum(dim=-1)
    support = (1 + k * zs) > cumsum
    k_z = support.to(z.dtype).sum(dim=-1, keepdim=True)
    tau = (torch.gather(cumsum, -1, k_z.long() - 1) - 1) / k_z
    return torch.clamp(z - tau, min=0).transpose(dim, -1)
