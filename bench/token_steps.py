"""bench/token_steps.py -- what the PyTorch sides of the sequence benchmarks
(lstm_torch.py, transformer_torch.py) share: uniformly random token ids, and
the timed training loop (token cross-entropy over every position, Adam,
shuffled batches) that prints the RESULT line bench/run.py reads: the median
over epochs of the time of one training step."""
import statistics
import time

import torch

from mlp_torch import sync


def time_steps(make_model, a, lr):
    """Trains make_model() on a.batch * a.steps random windows of a.seq ids below
    a.vocab for a.epochs epochs on a.device, and prints the RESULT line."""
    torch.manual_seed(1)
    n = a.batch * a.steps
    x = torch.randint(0, a.vocab, (n, a.seq)).to(a.device)
    y = torch.randint(0, a.vocab, (n, a.seq)).to(a.device)
    model = make_model().to(a.device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
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
