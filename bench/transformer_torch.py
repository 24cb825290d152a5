"""bench/transformer_torch.py -- the transformer step of bench/transformer.lua
in PyTorch: Embedding(V, 128) + learned positions -> 2 x
TransformerEncoderLayer(128, 4 heads, ff 512, GELU, pre-norm, no dropout)
under a causal mask -> Linear(128, V), token cross-entropy over every
position, Adam; batch 32, T 128, V 100. The data are uniformly random ids
(the values do not change the time). Prints the same RESULT line: the
median time of one training step."""
import argparse

import torch

from token_steps import time_steps


class CharTransformer(torch.nn.Module):
    def __init__(self, vocab, seq, dim, heads, ff):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, dim)
        self.pos = torch.nn.Parameter(torch.randn(seq, dim) * 0.02)
        self.blocks = torch.nn.ModuleList(
            torch.nn.TransformerEncoderLayer(d_model=dim, nhead=heads, dim_feedforward=ff, dropout=0.0,
                                             activation="gelu", batch_first=True, norm_first=True)
            for _ in range(2))
        self.head = torch.nn.Linear(dim, vocab)
        self.register_buffer("mask", torch.nn.Transformer.generate_square_subsequent_mask(seq))

    def forward(self, x):
        h = self.embed(x) + self.pos[: x.shape[1]]
        for b in self.blocks:
            h = b(h, src_mask=self.mask)
        return self.head(h)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ff", type=int, default=512)
    ap.add_argument("--vocab", type=int, default=100)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cuda: on the GPU (bench/gpu_check.sh)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    time_steps(lambda: CharTransformer(a.vocab, a.seq, a.dim, a.heads, a.ff), a, lr=1e-3)


if __name__ == "__main__":
    main()
