"""bench/lstm_torch.py -- the character-level LSTM step of bench/lstm.lua in
PyTorch: embedding (V, 64) -> LSTM(64, 256) -> Linear(256, V), token
cross-entropy over every position, Adam; batch 64, T 128, V 100. The data
are uniformly random ids (the values do not change the time). Prints the
same RESULT line: the median time of one training step."""
import argparse

import torch

from token_steps import time_steps


class CharLSTM(torch.nn.Module):
    def __init__(self, vocab, dim, hidden):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, dim)
        self.lstm = torch.nn.LSTM(dim, hidden, batch_first=True)
        self.head = torch.nn.Linear(hidden, vocab)

    def forward(self, x):
        h, _ = self.lstm(self.embed(x))
        return self.head(h)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--vocab", type=int, default=100)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cuda: on the GPU (bench/gpu_check.sh)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    time_steps(lambda: CharLSTM(a.vocab, 64, a.hidden), a, lr=0.002)


if __name__ == "__main__":
    main()
