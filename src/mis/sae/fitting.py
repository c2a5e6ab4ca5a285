"""Training a sparse autoencoder on a layer's activation vectors (``mis.sae.sampling``) into a
``Dictionary``.

Two kinds, as in the MIS paper's appendix: a standard SAE (``relu``: ReLU encoder, L1 penalty on
the latents) and a Gated SAE (``gated``, ``mis.sae.gated``). From overcomplete (0.3.0): the
standard SAE (its ``SAE`` with the ``linear`` encoder: one Linear layer and a ReLU), the decoder of
both (``DictionaryLayer``: atoms projected to unit norm before every use, so the L1 penalty cannot
be dodged by shrinking latents and growing atoms), and the training loop (``train_sae``: Adam steps
with the gradient norm clipped at 1). Written here: the Gated SAE, both losses (overcomplete's
``mse_l1`` sums the L1 over the batch, so its weight would depend on the batch size), the
normalisation, the seeding and the conversion to a ``Dictionary``.

Normalisation: the vectors are centred on their mean μ and divided by s = sqrt(E‖x − μ‖²), so that
E‖x‖² = 1 whatever the layer's width and scale. The loss E‖x − x̂‖² + λ·E‖f‖₁ then weighs the
fraction of variance left unexplained against the L1 norm of the latents in units of the
activations' RMS norm, and one sparsity weight λ means the same on every layer. The dictionary
folds μ and s back in (b_dec, W_enc / s, W_dec · s): it reads and reconstructs raw activations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict

import torch
from torch import nn
from tqdm import tqdm

from mis.sae.compat import SAE, train_sae
from mis.sae.dictionary import Dictionary
from mis.sae.gated import GatedSAE
from mis.settings import SAE_KINDS, SaeSettings

log = logging.getLogger(__name__)

MONITOR_ROWS = 8192  # vectors the per-epoch log line is computed on


def train_dictionary(vectors: torch.Tensor, settings: SaeSettings, device: torch.device | str = "cpu") -> Dictionary:
    """A dictionary trained on ``vectors`` (n, d_in), seeded: the same vectors, settings and
    device give identical weights (on CPU)."""
    if settings.kind not in SAE_KINDS:
        raise ValueError(f"SAE kind '{settings.kind}': choose from {list(SAE_KINDS)}")
    if settings.sparsity < 0 or settings.expansion < 1:
        raise ValueError(f"sparsity must be ≥ 0 and expansion ≥ 1, got {settings.sparsity} and {settings.expansion}")
    vectors = vectors.double()
    mean = vectors.mean(dim=0)
    scale = (vectors - mean).square().sum(dim=1).mean().sqrt()
    if scale == 0:
        raise ValueError("the activation vectors are all equal: there is nothing to learn")
    x = ((vectors - mean) / scale).float().to(device)
    d_in, n_latents = x.shape[1], settings.expansion * x.shape[1]
    torch.manual_seed(settings.seed)
    model, criterion = _model_and_loss(settings, d_in, n_latents, device)
    order = torch.utils.data.RandomSampler(x, generator=torch.Generator().manual_seed(settings.seed))
    batches = torch.utils.data.DataLoader(  # whole batches indexed at once, not row by row
        torch.utils.data.TensorDataset(x),
        sampler=torch.utils.data.BatchSampler(order, settings.batch_size, drop_last=False),
        batch_size=None,
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    monitored = x[:MONITOR_ROWS]
    for epoch in tqdm(range(settings.n_epochs), desc=f"train {settings.name}", unit="epoch"):
        train_sae(model, batches, criterion, optimizer, nb_epochs=1, monitoring=0, device=device)
        with torch.no_grad():
            _, latents, x_hat = model(monitored)
            fvu = (monitored - x_hat).square().sum() / (monitored - monitored.mean(0)).square().sum()
        log.info(
            "%s epoch %d: unexplained variance %.4f, L0 %.2f of %d latents",
            settings.name,
            epoch + 1,
            fvu,
            (latents != 0).sum(1).float().mean(),
            n_latents,
        )
    meta = {"name": settings.name, **asdict(settings), "n_vectors": len(x), "normalisation_scale": float(scale)}
    return _as_dictionary(model, settings.kind, mean.float(), float(scale), meta)


def _model_and_loss(settings: SaeSettings, d_in: int, n_latents: int, device) -> tuple[nn.Module, Callable]:
    if settings.kind == "gated":
        model = GatedSAE(d_in, n_latents, settings.sparsity).to(device)
        return model, model.loss

    def loss(x, x_hat, pre_codes, codes, atoms) -> torch.Tensor:
        """Reconstruction + λ·‖f‖₁, per vector, averaged over the batch."""
        return (x - x_hat).square().sum(-1).mean() + settings.sparsity * codes.abs().sum(-1).mean()

    return SAE(d_in, n_latents, encoder_module="linear", device=str(device)), loss


@torch.no_grad()
def _as_dictionary(model: nn.Module, kind: str, mean: torch.Tensor, scale: float, meta: dict) -> Dictionary:
    """The trained SAE in raw activation units (see the module docstring)."""
    atoms = model.get_dictionary().detach().cpu()
    if kind == "relu":
        encoder = model.encoder.final_block[0]  # overcomplete's linear encoder: Linear, Identity norm
        weight, bias = encoder.weight.detach().cpu().T, encoder.bias.detach().cpu()
        return Dictionary(weight / scale, bias, kind="relu", b_dec=mean, W_dec=atoms * scale, meta=meta)
    cpu = {name: parameter.detach().cpu() for name, parameter in model.named_parameters()}
    return Dictionary(
        cpu["W_gate"] / scale,
        cpu["b_gate"],
        kind="gated",
        b_dec=mean + scale * cpu["b_dec"],
        W_dec=atoms * scale,
        r_mag=cpu["r_mag"],
        b_mag=cpu["b_mag"],
        meta=meta,
    )
