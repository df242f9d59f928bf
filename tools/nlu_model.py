"""The joint intent + slot model used for both teacher and student (training side, torch).

A plain post-LayerNorm BERT encoder written out here rather than taken from transformers, so that
ONNX export sees only ordinary ops and the same code loads multilingual-e5-small (BERT naming),
XLM-R (RoBERTa naming, positions offset by 2) and our own students. The word embedding may be
factorised (vocab x E, then E x hidden) to keep a trimmed multilingual vocabulary small.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class EncoderConfig:
    vocab_size: int
    hidden: int = 384
    layers: int = 12
    heads: int = 12
    ff: int = 1536
    max_positions: int = 512
    position_offset: int = 0  # XLM-R/RoBERTa start positions at padding_idx + 1 = 2
    eps: float = 1e-12
    embedding_dim: int | None = None  # factorised word embedding width; None = hidden
    n_intents: int = 60
    n_slot_labels: int = 111
    dropout: float = 0.1

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> EncoderConfig:
        return cls(**json.loads(path.read_text()))


class Layer(nn.Module):
    def __init__(self, c: EncoderConfig) -> None:
        super().__init__()
        self.heads = c.heads
        self.q = nn.Linear(c.hidden, c.hidden)
        self.k = nn.Linear(c.hidden, c.hidden)
        self.v = nn.Linear(c.hidden, c.hidden)
        self.ao = nn.Linear(c.hidden, c.hidden)
        self.aln = nn.LayerNorm(c.hidden, eps=c.eps)
        self.fi = nn.Linear(c.hidden, c.ff)
        self.fo = nn.Linear(c.ff, c.hidden)
        self.oln = nn.LayerNorm(c.hidden, eps=c.eps)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        d = h // self.heads

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, self.heads, d).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        att = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(d)) + bias
        ctx = torch.matmul(att.softmax(-1), v).transpose(1, 2).reshape(b, t, h)
        x = self.aln(x + self.drop(self.ao(ctx)))
        return self.oln(x + self.drop(self.fo(F.gelu(self.fi(x)))))


class JointModel(nn.Module):
    """Encoder + intent head (mean pool) + slot head (BIO per token)."""

    def __init__(self, c: EncoderConfig) -> None:
        super().__init__()
        self.config = c
        e = c.embedding_dim or c.hidden
        self.word = nn.Embedding(c.vocab_size, e)
        self.word_proj = nn.Linear(e, c.hidden, bias=False) if e != c.hidden else None
        self.pos = nn.Embedding(c.max_positions, c.hidden)
        self.token_type = nn.Parameter(torch.zeros(c.hidden))
        self.eln = nn.LayerNorm(c.hidden, eps=c.eps)
        self.layers = nn.ModuleList(Layer(c) for _ in range(c.layers))
        self.drop = nn.Dropout(c.dropout)
        self.intent_head = nn.Linear(c.hidden, c.n_intents)
        self.slot_head = nn.Linear(c.hidden, c.n_slot_labels)

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        t = input_ids.shape[1]
        positions = torch.arange(t, device=input_ids.device) + self.config.position_offset
        w = self.word(input_ids)
        if self.word_proj is not None:
            w = self.word_proj(w)
        x = self.drop(self.eln(w + self.pos(positions)[None] + self.token_type))
        mask = attention_mask.to(x.dtype)
        bias = ((1.0 - mask) * -10000.0)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, bias)
        return x

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.encode(input_ids, attention_mask)
        mask = attention_mask.to(x.dtype)[..., None]
        pooled = (x * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.intent_head(self.drop(pooled)), self.slot_head(self.drop(x))


_BERT_NAMES = {
    "attention.self.query": "q", "attention.self.key": "k", "attention.self.value": "v",
    "attention.output.dense": "ao", "attention.output.LayerNorm": "aln",
    "intermediate.dense": "fi", "output.dense": "fo", "output.LayerNorm": "oln",
}


def load_pretrained_encoder(folder: Path, n_intents: int, n_slot_labels: int) -> JointModel:
    """Build a JointModel from a Hugging Face BERT or XLM-R folder (safetensors or .bin)."""
    cfg = json.loads((folder / "config.json").read_text())
    if (folder / "model.safetensors").exists():
        from safetensors.torch import load_file

        state = load_file(str(folder / "model.safetensors"))
    elif (folder / "pytorch_model.bin").exists():
        state = torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)
    else:
        raise FileNotFoundError(f"{folder} has neither model.safetensors nor pytorch_model.bin")
    is_roberta = cfg.get("model_type") in ("xlm-roberta", "roberta")
    c = EncoderConfig(
        vocab_size=cfg["vocab_size"], hidden=cfg["hidden_size"], layers=cfg["num_hidden_layers"],
        heads=cfg["num_attention_heads"], ff=cfg["intermediate_size"],
        max_positions=cfg["max_position_embeddings"], position_offset=2 if is_roberta else 0,
        eps=cfg.get("layer_norm_eps", 1e-12), n_intents=n_intents, n_slot_labels=n_slot_labels,
    )
    model = JointModel(c)
    prefix = next((p for p in ("roberta.", "bert.", "") if any(k.startswith(p + "embeddings.") for k in state)), "")
    s = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    new = {
        "word.weight": s["embeddings.word_embeddings.weight"],
        "pos.weight": s["embeddings.position_embeddings.weight"],
        "token_type": s["embeddings.token_type_embeddings.weight"][0],
        "eln.weight": s["embeddings.LayerNorm.weight"],
        "eln.bias": s["embeddings.LayerNorm.bias"],
    }
    for i in range(c.layers):
        for long, short in _BERT_NAMES.items():
            for kind in ("weight", "bias"):
                new[f"layers.{i}.{short}.{kind}"] = s[f"encoder.layer.{i}.{long}.{kind}"]
    missing, unexpected = model.load_state_dict(new, strict=False)
    assert not unexpected, unexpected
    assert all(k.startswith(("intent_head", "slot_head")) for k in missing), missing
    return model


def save_checkpoint(path: Path, model: JointModel, **extra) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"config": asdict(model.config), "state": model.state_dict(), **extra}, tmp)
    tmp.replace(path)


def load_checkpoint(path: Path) -> tuple[JointModel, dict]:
    ck = torch.load(path, map_location="cpu", weights_only=False)
    model = JointModel(EncoderConfig(**ck["config"]))
    model.load_state_dict(ck["state"])
    return model, ck
