"""A dictionary: a learned basis of a layer, read out at every position of its activation vector.

Every latent is a scalar function of the layer's C-vector at one spatial position or token:

    linear: f = (x − b_dec) · W_enc + b_enc        (any projection; the identity gives the channels)
    relu:   f = ReLU((x − b_dec) · W_enc + b_enc)  (a standard sparse autoencoder)
    gated:  f = 1[(x − b_dec) · W_enc + b_enc > 0] · ReLU((x − b_dec) · (W_enc · exp(r_mag)) + b_mag)
            (a Gated SAE, Rajamanoharan et al. 2024: W_enc and b_enc are its gate path)

and the decoder, when there is one, reconstructs x̂ = f · W_dec + b_dec. Everything is in the
layer's raw activation units, so a file holds all that is needed to read the latents.

File format (``save_dictionary``: ``.npz``; ``load_dictionary`` also reads a PyTorch ``.pt``/``.pth``
dict of tensors, e.g. a SAELens state dict, whose key names and layouts these follow):

    W_enc  (d_in, n_latents)   required
    b_enc  (n_latents,)        required (``b_gate`` is read as b_enc for a gated dictionary)
    b_dec  (d_in,)             optional, default 0: subtracted before encoding, added after decoding
    W_dec  (n_latents, d_in)   optional: only the reconstruction metrics need it
    r_mag, b_mag (n_latents,)  the magnitude path, gated only
    kind                       optional string, ``linear``, ``relu`` or ``gated``; default ``gated``
                               when r_mag is there, else ``relu``
    meta                       optional JSON string: how the dictionary was made (layer, training)

Any other key is an error: a JumpReLU SAE's ``threshold``, say, would otherwise be read as a ReLU
SAE with wrong latents. (A TopK SAE has no key of its own: give it ``kind`` = ``relu`` knowingly, or
not at all.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mis.storage import atomic_path

KINDS = ("linear", "relu", "gated")
TENSORS = ("W_enc", "b_enc", "b_dec", "W_dec", "r_mag", "b_mag")
ALIASES = {"b_gate": "b_enc"}  # SAELens's name of the gate bias


class DictionaryError(ValueError):
    """A dictionary (or its file) is malformed; the message names the file, the key and the shape."""


class Dictionary(nn.Module):
    """``n_latents`` read-outs of a ``d_in``-channel activation vector (see the module docstring).
    The tensors are buffers: ``.to(device)`` moves them with the model."""

    def __init__(
        self,
        W_enc: torch.Tensor,
        b_enc: torch.Tensor,
        kind: str = "relu",
        b_dec: torch.Tensor | None = None,
        W_dec: torch.Tensor | None = None,
        r_mag: torch.Tensor | None = None,
        b_mag: torch.Tensor | None = None,
        meta: dict[str, Any] | None = None,
    ):
        super().__init__()
        if kind not in KINDS:
            raise DictionaryError(f"kind '{kind}': choose from {list(KINDS)}")
        if W_enc.ndim != 2:
            raise DictionaryError(f"W_enc must be (d_in, n_latents), got shape {tuple(W_enc.shape)}")
        d_in, n_latents = W_enc.shape
        if d_in < 1 or n_latents < 1:
            raise DictionaryError(f"W_enc of shape {tuple(W_enc.shape)} has no latents or no channels")
        expected = {"b_enc": (n_latents,), "b_dec": (d_in,), "W_dec": (n_latents, d_in)}
        if kind == "gated":
            expected |= {"r_mag": (n_latents,), "b_mag": (n_latents,)}
        given = {"b_enc": b_enc, "b_dec": b_dec, "W_dec": W_dec, "r_mag": r_mag, "b_mag": b_mag}
        for key, shape in expected.items():
            tensor = given[key]
            if tensor is None and key in ("b_dec", "W_dec"):
                continue
            if tensor is None:
                raise DictionaryError(f"a {kind} dictionary needs '{key}' of shape {shape}")
            if tuple(tensor.shape) != shape:
                hint = " (W_enc is (d_in, n_latents): transpose a PyTorch Linear weight)" if key == "b_enc" else ""
                raise DictionaryError(
                    f"'{key}' has shape {tuple(tensor.shape)}, expected {shape} for W_enc {tuple(W_enc.shape)}{hint}"
                )
        extra = [key for key in ("r_mag", "b_mag") if kind != "gated" and given[key] is not None]
        if extra:
            raise DictionaryError(f"{extra} belong to a gated dictionary, not a {kind} one")
        self.kind = kind
        self.meta = dict(meta or {})
        self.register_buffer("W_enc", W_enc.float())
        self.register_buffer("b_enc", b_enc.float())
        self.register_buffer("b_dec", torch.zeros(d_in) if b_dec is None else b_dec.float())
        for key in ("W_dec", "r_mag", "b_mag"):
            self.register_buffer(key, None if given[key] is None else given[key].float())

    @property
    def d_in(self) -> int:
        return self.W_enc.shape[0]

    @property
    def n_latents(self) -> int:
        return self.W_enc.shape[1]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latents (..., n_latents) of activation vectors (..., d_in)."""
        if x.shape[-1] != self.d_in:
            raise DictionaryError(f"the dictionary reads {self.d_in} channels, the layer has {x.shape[-1]}")
        centred = x.float() - self.b_dec
        pre = centred @ self.W_enc + self.b_enc
        if self.kind == "linear":
            return pre
        if self.kind == "relu":
            return torch.relu(pre)
        magnitude = torch.relu(centred @ (self.W_enc * torch.exp(self.r_mag)) + self.b_mag)
        return (pre > 0) * magnitude

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Reconstructed activation vectors (..., d_in) of latents (..., n_latents)."""
        if self.W_dec is None:
            raise DictionaryError("the dictionary has no decoder (W_dec): it reads latents but cannot reconstruct")
        return latents @ self.W_dec + self.b_dec

    def read_out(self, output: torch.Tensor, channel_axis: int) -> torch.Tensor:
        """A layer's output with its channel axis replaced by the latents, laid out in memory like
        ``output``, so that ``aggregate`` sums in the same order (exactly the channels' means for
        the identity dictionary)."""
        latents = self.encode(output.movedim(channel_axis, -1)).movedim(-1, channel_axis)
        return _laid_out_like(latents, output)

    def reconstruct(self, output: torch.Tensor, channel_axis: int) -> torch.Tensor:
        """A layer's output replaced by its reconstruction (same shape, dtype and layout)."""
        moved = output.movedim(channel_axis, -1)
        restored = self.decode(self.encode(moved)).movedim(-1, channel_axis)
        return _laid_out_like(restored, output).to(output.dtype)

    def arrays(self) -> dict[str, np.ndarray]:
        """The file's arrays (see the module docstring)."""
        arrays = {key: tensor.cpu().numpy() for key, tensor in self.named_buffers() if tensor is not None}
        return {**arrays, "kind": np.array(self.kind), "meta": np.array(json.dumps(self.meta, sort_keys=True))}


def _laid_out_like(tensor: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """``tensor`` in the memory format of ``reference`` (channels-last maps stay channels-last)."""
    if (
        reference.ndim == 4
        and not reference.is_contiguous()
        and reference.is_contiguous(memory_format=torch.channels_last)
    ):
        return tensor.contiguous(memory_format=torch.channels_last)
    return tensor.contiguous()


def identity_dictionary(channels: int) -> Dictionary:
    """The layer's own channels as a dictionary: linear, W_enc = W_dec = I."""
    eye = torch.eye(channels)
    return Dictionary(eye, torch.zeros(channels), kind="linear", W_dec=eye.clone(), meta={"name": "identity"})


def save_dictionary(dictionary: Dictionary, path: str | os.PathLike) -> None:
    """Write ``dictionary`` as ``.npz`` (atomically)."""
    if Path(path).suffix != ".npz":
        raise DictionaryError(f"{path}: dictionaries are written as .npz")
    with atomic_path(path) as tmp:
        np.savez(tmp, **dictionary.arrays())


def load_dictionary(path: str | os.PathLike) -> Dictionary:
    """A dictionary file (``.npz``, or a ``.pt``/``.pth`` dict of tensors); a malformed one is a
    ``DictionaryError`` naming the file and the key."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"dictionary file not found: {path}")
    try:
        return _from_content(_read(path))
    except DictionaryError as error:
        raise DictionaryError(f"dictionary {path}: {error}") from None
    except Exception as error:  # truncated zips, pickles, foreign formats: all unreadable
        raise DictionaryError(f"dictionary {path}: cannot read it ({type(error).__name__}: {error})") from error


def _read(path: Path) -> dict[str, Any]:
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    if path.suffix in (".pt", ".pth"):
        content = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(content, dict):
            raise DictionaryError(f"holds a {type(content).__name__}, not a dict of tensors")
        return content
    raise DictionaryError(f"unknown suffix '{path.suffix}': use .npz, .pt or .pth")


def _from_content(content: dict[str, Any]) -> Dictionary:
    content = {ALIASES.get(key, key): value for key, value in content.items()}
    for key in ("W_enc", "b_enc"):
        if key not in content:
            raise DictionaryError(f"no '{key}' (keys: {sorted(content)})")
    unknown = sorted(set(content) - set(TENSORS) - {"kind", "meta"})
    if unknown:  # e.g. a JumpReLU SAE's 'threshold': read as a ReLU SAE, its latents would be wrong
        raise DictionaryError(f"unknown keys {unknown}: a {'/'.join(KINDS)} dictionary holds {list(TENSORS)}")
    kind = str(content["kind"]) if "kind" in content else ("gated" if "r_mag" in content else "relu")
    meta = content.get("meta", {})
    meta = meta if isinstance(meta, dict) else json.loads(str(meta))
    tensors = {}
    for key in TENSORS:
        if key in content:
            tensors[key] = _numeric(content[key], key)
    return Dictionary(kind=kind, meta=meta, **tensors)


def _numeric(value: Any, key: str) -> torch.Tensor:
    try:
        tensor = torch.as_tensor(value)
    except (TypeError, RuntimeError, ValueError):
        tensor = None
    if tensor is None or tensor.dtype == torch.bool or tensor.is_complex():
        raise DictionaryError(f"'{key}' is not an array of real numbers")
    if not torch.isfinite(tensor).all():
        raise DictionaryError(f"'{key}' holds {int((~torch.isfinite(tensor)).sum())} NaN or infinite values")
    return tensor
