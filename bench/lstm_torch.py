"""bench/lstm_torch.py -- the character-level LSTM step of bench/lstm.lua in
PyTorch: embedding (V, 64) -> LSTM(64, 256) -> Linear(256, V), token
cross-entropy over every position, Adam; batch 64, T 128, V 100. The data
are uniformly random ids (the values do not change the time). Prints the
same RESULT line: the median time of one training step."""
import argparse
import statistics
import time

import torch

from mlp_torch import sync


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
    torch.manual_seed(1)
    n = a.batch * a.steps
    x = torch.randint(0, a.vocab, (n, a.seq)).to(a.device)
    y = torch.randint(0, a.vocab, (n, a.seq)).to(a.device)
    model = CharLSTM(a.vocab, 64, a.hidden).to(a.device)
    opt = torch.optim.Adam(model.parameters(), lr=0.002)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    times = []
    for _ in range(a.epochs):
        sync(a.device)
        t0 = time.perf_counter()
        perm = torch.randperm(n, device=a.device)
        for s in range(0, n, a.batch):
            idx = perm[s:s + a.batch]
            opt.zero_grad(set_to_none=True)
            logits = model(x[idx])
            loss_fn(logits.reshape(-1, a.vocab), y[idx].reshape(-1)).backward()
            opt.step()
        sync(a.device)
        times.append((time.perf_counter() - t0) / a.steps)
    print(f"RESULT step_seconds={statistics.median(times):.6f}")


if __name__ == "__main__":
    main()
