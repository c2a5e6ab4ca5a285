"""The Gated SAE of Rajamanoharan et al. 2024 (arXiv 2404.16014), written here: overcomplete has
none. Its decoder is overcomplete's ``DictionaryLayer`` (unit-norm atoms), and it returns what
overcomplete's ``SAE`` returns, so that overcomplete's ``train_sae`` loop trains it with ``loss``."""

from __future__ import annotations

import torch
from torch import nn

from mis.sae.compat import DictionaryLayer


class GatedSAE(nn.Module):
    """A gate path decides which latents are active, 1[π_gate > 0] with π_gate = (x − b_dec)·W_gate
    + b_gate, and a magnitude path how strongly, ReLU((x − b_dec)·W_mag + b_mag), with W_mag =
    W_gate · exp(r_mag) sharing the gate's weights up to a per-latent rescaling. The encoder starts
    as the decoder's transpose, the biases and r_mag at zero."""

    def __init__(self, d_in: int, n_latents: int, sparsity: float):
        super().__init__()
        self.sparsity = sparsity
        self.dictionary = DictionaryLayer(d_in, n_latents)
        self.W_gate = nn.Parameter(self.dictionary.get_dictionary().detach().T.clone())
        self.b_gate = nn.Parameter(torch.zeros(n_latents))
        self.r_mag = nn.Parameter(torch.zeros(n_latents))
        self.b_mag = nn.Parameter(torch.zeros(n_latents))
        self.b_dec = nn.Parameter(torch.zeros(d_in))

    def get_dictionary(self) -> torch.Tensor:
        """The decoder's atoms, (n_latents, d_in), unit norm."""
        return self.dictionary.get_dictionary()

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(π_gate, latents) of vectors (batch, d_in)."""
        centred = x - self.b_dec
        gate = centred @ self.W_gate + self.b_gate
        magnitude = torch.relu(centred @ (self.W_gate * torch.exp(self.r_mag)) + self.b_mag)
        return gate, (gate > 0) * magnitude

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(π_gate, latents, reconstruction), as overcomplete's SAE returns (pre-codes, codes, x̂)."""
        gate, latents = self.encode(x)
        return gate, latents, self.dictionary(latents) + self.b_dec

    def loss(
        self, x: torch.Tensor, x_hat: torch.Tensor, gate: torch.Tensor, latents: torch.Tensor, atoms: torch.Tensor
    ) -> torch.Tensor:
        """Reconstruction + λ·‖ReLU(π_gate)‖₁ + the auxiliary reconstruction from ReLU(π_gate)
        through a frozen copy of the decoder, which trains the gate path (the Heaviside passes no
        gradient); per vector, averaged over the batch. Signature of overcomplete's losses."""
        via_gate = torch.relu(gate)
        auxiliary = via_gate @ atoms.detach() + self.b_dec.detach()
        reconstruction = (x - x_hat).square().sum(-1).mean()
        return reconstruction + self.sparsity * via_gate.sum(-1).mean() + (x - auxiliary).square().sum(-1).mean()
