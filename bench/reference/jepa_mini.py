#!/usr/bin/python3
"""PyTorch reference implementation of the `_mini` JEPA training step, for benchmarking.

What the Python original does (/work/shared/reference/ARC_JEPA_REFERENCE.md), at the
`jepa_pretrain_a6000_mini.yaml` shapes and hyper-parameters, written the way the original's
PyTorch code is written (nn.Modules, eager ops): §2 object tokenizer, §3.1 object encoder,
§3.2 relational layers, §3.3 hard VQ with per-call EMA and refresh, §3.5 masked mean + mean
over the context frames, §3.6 projection head, §3.7 EMA target network, §4.1 InfoNCE with a
negative queue and a learnable clamped temperature, §4.3 SIGReg, §4.4 invariance (colour,
translation, symmetry re-encodings), §4.5 relational loss, §5 Adam + clipping + warmup/cosine
LR, §6 embedding diagnostics at the configured interval.

It reads the JSONL manifest that `bazel run -c opt //bench:dump_tasks` writes (the C++
generator's tasks), tokenises every sample once up front (the reference trains from
pre-tokenised shards, §1.4; the C++ trainer tokenises in a background prefetch thread, so
neither side's timed loop pays for tokenisation), then trains `--steps` optimizer steps and
prints samples/s of the training loop.

The target network stays in training mode, as in the reference (§0.4/§3.7: dropout and its own
VQ EMA/refresh run on every target forward) and as the C++ trainer does with the mini config's
`compat.train_mode_everywhere: true`. There is no validation pass here.

Usage: /usr/bin/python3 bench/reference/jepa_mini.py --manifest FILE [--threads 2] [--steps 87]
"""
import argparse
import copy
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---- mini config (configs/training/jepa_pretrain_a6000_mini.yaml) ----
CFG = dict(
    context_window=3, validation_split=0.05, seed=123,
    max_objects=16, max_color_features=10,
    hidden_dim=64, num_embeddings=128, ema_decay=0.99, refresh_interval=500, refresh_threshold=0.05,
    relational_layers=1, relational_heads=4, relational_dropout=0.1,
    lr=1e-3, weight_decay=1e-6, batch_size=64, epochs=3, max_norm=0.5, warmup=10, min_lr_scale=0.1,
    temperature=0.07, temperature_min=0.07, temperature_max=0.15, queue_size=256, projection_dim=32,
    projection_layers=2, target_ema_decay=0.99,
    sigreg_weight=0.1, sigreg_slices=64, sigreg_points=17,
    color_weight=0.1, translation_weight=0.05, translation_max_delta=0.1, symmetry_weight=0.05,
    symmetry_modes=("horizontal", "vertical"), palette_size=10,
    relational_weight=0.05, context_self_weight=0.025,
    diag_interval=20, diag_max_samples=512,
)
FEATURES = 13 + CFG["max_color_features"]
# feature columns (§2)
DOMINANT, CY, CX, MINY, MINX, MAXY, MAXX, HIST = 6, 7, 8, 9, 10, 11, 12, 13


# ---------------------------------------------------------------- §2 tokenizer
def tokenize(grid, n_max, colour_slots):
    """features [N,F], mask [N], adjacency [N,N] (4-connectivity, respect_colors, normalize)."""
    h, w = len(grid), len(grid[0])
    s = float(h * w)
    labels = [[-1] * w for _ in range(h)]
    comps = []  # (area, label, cells, colour)
    for y0 in range(h):
        for x0 in range(w):
            c = grid[y0][x0]
            if c == 0 or labels[y0][x0] >= 0:
                continue
            lab = len(comps)
            labels[y0][x0] = lab
            cells = [(y0, x0)]
            i = 0
            while i < len(cells):
                y, x = cells[i]
                i += 1
                for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                    if 0 <= ny < h and 0 <= nx < w and labels[ny][nx] < 0 and grid[ny][nx] == c:
                        labels[ny][nx] = lab
                        cells.append((ny, nx))
            comps.append((len(cells), lab, cells, c))
    comps.sort(key=lambda t: (-t[0], t[1]))
    kept = comps[:n_max]
    feats = torch.zeros(n_max, 13 + colour_slots)
    mask = torch.zeros(n_max)
    adj = torch.zeros(n_max, n_max)
    boxes = []
    for row, (area, lab, cells, colour) in enumerate(kept):
        ys = [c[0] for c in cells]
        xs = [c[1] for c in cells]
        per = 0
        for y, x in cells:
            same = 0
            if y > 0 and labels[y - 1][x] == lab: same += 1
            if y + 1 < h and labels[y + 1][x] == lab: same += 1
            if x > 0 and labels[y][x - 1] == lab: same += 1
            if x + 1 < w and labels[y][x + 1] == lab: same += 1
            per += 4 - same
        miny, maxy, minx, maxx = min(ys), max(ys), min(xs), max(xs)
        bh, bw = maxy - miny + 1, maxx - minx + 1
        f = [area / s, per / s, bh / h, bw / w, bw / bh, 1.0, float(colour),
             sum(ys) / area / h, sum(xs) / area / w, miny / h, minx / w, maxy / h, maxx / w]
        f += [area / s] + [0.0] * (colour_slots - 1)
        feats[row] = torch.tensor(f)
        mask[row] = 1.0
        boxes.append((miny, maxy, minx, maxx))
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            sep = a[1] + 1 < b[0] or b[1] + 1 < a[0] or a[3] + 1 < b[2] or b[3] + 1 < a[2]
            if not sep:
                adj[i, j] = adj[j, i] = 1.0
    return feats, mask, adj


def load_tokens(path):
    ctx_f, ctx_m, ctx_a, tgt_f, tgt_m, tgt_a = [], [], [], [], [], []
    n, c, t = CFG["max_objects"], CFG["max_color_features"], CFG["context_window"]
    with open(path) as fh:
        for line in fh:
            rec = json.loads(line)
            f, m, a = tokenize(rec["input"], n, c)  # context = (input,) padded to T copies (§1.3)
            ctx_f.append(f.expand(t, -1, -1))
            ctx_m.append(m.expand(t, -1))
            ctx_a.append(a.expand(t, -1, -1))
            f, m, a = tokenize(rec["output"], n, c)
            tgt_f.append(f); tgt_m.append(m); tgt_a.append(a)
    return [torch.stack(x).contiguous() for x in (ctx_f, ctx_m, ctx_a, tgt_f, tgt_m, tgt_a)]


# ---------------------------------------------------------------- §3 model
class RelationalLayer(nn.Module):
    def __init__(self, h, heads, p):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(h), nn.LayerNorm(h)
        self.q, self.k, self.v, self.o = (nn.Linear(h, h) for _ in range(4))
        self.ffn_in, self.ffn_out = nn.Linear(h, 2 * h), nn.Linear(2 * h, h)
        self.dropout = nn.Dropout(p)

    def attention(self, x, allowed):
        m, n, h = x.shape
        d = h // self.heads
        split = lambda t: t.view(m, n, self.heads, d).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        logits = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(d)
        allowed = allowed.unsqueeze(1)
        logits = logits.masked_fill(~allowed, float("-inf"))
        weights = self.dropout(torch.softmax(logits, -1) * allowed)
        return self.o(torch.matmul(weights, v).transpose(1, 2).reshape(m, n, h))

    def forward(self, x, mask, adjacency):
        valid = mask > 0.5
        pairs = valid.unsqueeze(2) & valid.unsqueeze(1)
        eye = torch.eye(x.shape[1], dtype=torch.bool)
        allowed = ((adjacency > 0.5) | eye) & pairs
        allowed = allowed | (eye & ~valid.unsqueeze(2))
        mf = mask.unsqueeze(-1).to(x.dtype)
        h = x + self.dropout(self.attention(self.norm1(x), allowed) * mf)
        h = h + self.dropout(self.ffn_out(F.gelu(self.ffn_in(self.norm2(h)))))
        return h * mf


class VectorQuantizer(nn.Module):
    """Hard VQ, EMA k-means with the reference's biased init, per-call refresh (§3.3)."""

    def __init__(self, k, d, decay, interval, threshold, eps=1e-5):
        super().__init__()
        self.k, self.decay, self.interval, self.threshold, self.eps = k, decay, interval, threshold, eps
        self.embedding = nn.Embedding(k, d)
        self.embedding.weight.data.uniform_(-1.0 / k, 1.0 / k)
        self.embedding.weight.requires_grad_(False)
        self.register_buffer("ema_cluster_size", torch.zeros(k))
        self.register_buffer("ema_w", self.embedding.weight.data.clone())
        self.register_buffer("counter", torch.zeros((), dtype=torch.long))

    def forward(self, inputs):
        flat = inputs.reshape(-1, inputs.shape[-1])
        with torch.no_grad():
            z = flat.detach()
            w = self.embedding.weight
            dist = z.pow(2).sum(1, keepdim=True) - 2 * z @ w.t() + w.pow(2).sum(1)
            idx = dist.argmin(1)
            if self.training:
                counts = torch.bincount(idx, minlength=self.k).float()
                sums = torch.zeros_like(w).index_add_(0, idx, z)
                self.ema_cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
                self.ema_w.mul_(self.decay).add_(sums, alpha=1 - self.decay)
                n = self.ema_cluster_size.sum()
                smoothed = (self.ema_cluster_size + self.eps) / (n + self.k * self.eps) * n
                w.copy_(self.ema_w / smoothed.unsqueeze(1))
                self.counter += 1
                if int(self.counter) % self.interval == 0:
                    usage = self.ema_cluster_size / self.ema_cluster_size.sum().clamp_min(1.0)
                    dead = (usage <= self.threshold).nonzero().squeeze(1).tolist()
                    if dead:
                        self.counter.zero_()
                        errors = dist.gather(1, idx.unsqueeze(1)).squeeze(1)
                        order = errors.argsort(descending=True)
                        for i, code in enumerate(dead):
                            row = z[order[i % len(order)]]
                            w[code] = row
                            self.ema_w[code] = row
                            self.ema_cluster_size[code] = max(float(self.ema_cluster_size.mean()), 1.0)
            q = self.embedding.weight.index_select(0, idx)
        loss = F.mse_loss(flat, q) + 0.3 * F.mse_loss(q, flat.detach())  # computed, never used (§0.1)
        out = flat + (q - flat).detach()
        counts = torch.bincount(idx, minlength=self.k).float() / flat.shape[0]
        perplexity = torch.exp(-(counts * (counts + 1e-10).log()).sum())  # computed, discarded
        return out.reshape(inputs.shape), idx.reshape(inputs.shape[:-1]), loss, perplexity


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        h = CFG["hidden_dim"]
        self.input, self.hidden = nn.Linear(FEATURES, h), nn.Linear(h, h)
        self.relational = nn.ModuleList(
            RelationalLayer(h, CFG["relational_heads"], CFG["relational_dropout"])
            for _ in range(CFG["relational_layers"]))
        self.vq = VectorQuantizer(CFG["num_embeddings"], h, CFG["ema_decay"], CFG["refresh_interval"],
                                  CFG["refresh_threshold"])

    def forward(self, features, mask, adjacency):
        x = self.hidden(F.gelu(self.input(features)))
        for layer in self.relational:
            x = layer(x, mask, adjacency)
        q, idx, _, _ = self.vq(x)
        return q, idx


class Projection(nn.Module):
    def __init__(self):
        super().__init__()
        p = CFG["projection_dim"]
        self.layers = nn.ModuleList(nn.Linear(CFG["hidden_dim"] if i == 0 else p, p)
                                    for i in range(CFG["projection_layers"]))

    def forward(self, x):
        for layer in self.layers:
            x = F.relu(layer(x))
        return F.normalize(x, dim=1)


def masked_mean(objects, mask):
    m = mask.unsqueeze(-1)
    return (objects * m).sum(1) / m.sum(1).clamp_min(1.0)


class Jepa(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder, self.projection = Encoder(), Projection()

    def encode_context(self, f, m, a):
        b, t, n, _ = f.shape
        objects, idx = self.encoder(f.reshape(b * t, n, -1), m.reshape(b * t, n), a.reshape(b * t, n, n))
        grids = masked_mean(objects, m.reshape(b * t, n))
        return objects, idx, grids.reshape(b, t, -1).mean(1)  # double mean pooling (§3.5)

    def encode_target(self, f, m, a):
        objects, idx = self.encoder(f, m, a)
        return objects, idx, masked_mean(objects, m)


# ---------------------------------------------------------------- §4 losses
def info_nce(c, t, queue, log_tau):
    tau = log_tau.exp().clamp(CFG["temperature_min"], CFG["temperature_max"])
    logits = c @ t.t()
    if queue is not None and queue.shape[0] > 0:
        logits = torch.cat([logits, c @ queue.t()], 1)
    return F.cross_entropy(logits / tau, torch.arange(c.shape[0])), tau


class Sigreg:
    def __init__(self):
        self.step = 0
        self.t = torch.linspace(-3, 3, CFG["sigreg_points"])
        self.phi = torch.exp(-0.5 * self.t ** 2)

    def __call__(self, emb):
        x = F.normalize(emb.float(), dim=1)
        with torch.no_grad():
            g = torch.Generator().manual_seed(self.step)
            a = torch.randn(x.shape[1], CFG["sigreg_slices"], generator=g)
            a = a / a.norm(dim=0, keepdim=True)
        self.step += 1
        xt = (x @ a).unsqueeze(-1) * self.t
        err = ((xt.cos().mean(0) - self.phi) ** 2 + xt.sin().mean(0) ** 2) * self.phi
        return torch.trapezoid(err, self.t, dim=-1).mean()


def colour_permuted(f, m):
    out = f.clone()
    valid = (m > 0).unsqueeze(-1)
    perm = torch.randperm(CFG["palette_size"])
    slots = torch.randperm(f.shape[-1] - HIST)
    colour = f[..., DOMINANT].round().clamp(0, CFG["palette_size"] - 1).long()
    out[..., DOMINANT] = perm[colour].to(f.dtype)
    out[..., HIST:] = f[..., HIST:][..., slots]
    return torch.where(valid, out, f)


def translated(f, m):
    out = f.clone()
    valid = (m > 0).unsqueeze(-1)
    d = CFG["translation_max_delta"]
    dy = (torch.rand(f.shape[:-1]) * 2 - 1) * d
    dx = (torch.rand(f.shape[:-1]) * 2 - 1) * d
    for col in (CY, MINY, MAXY):
        out[..., col] = (f[..., col] + dy).clamp(0, 1)
    for col in (CX, MINX, MAXX):
        out[..., col] = (f[..., col] + dx).clamp(0, 1)
    return torch.where(valid, out, f)


def flipped(f, m):
    modes = CFG["symmetry_modes"]
    mode = modes[int(torch.randint(0, len(modes), (1,)))]
    c, lo, hi = (CX, MINX, MAXX) if mode == "horizontal" else (CY, MINY, MAXY)
    out = f.clone()
    out[..., c] = 1 - f[..., c]
    out[..., lo] = 1 - f[..., hi]
    out[..., hi] = 1 - f[..., lo]
    return torch.where((m > 0).unsqueeze(-1), out, f)


def relation_matrix(e, m, a):
    dist = (e.unsqueeze(2) - e.unsqueeze(1)).pow(2).sum(-1)
    return dist * (a > 0).to(dist.dtype) * (m.unsqueeze(2) * m.unsqueeze(1))


def relational_loss(ctx_obj, cm, ca, tgt_obj, tm, ta):
    b, t, n = cm.shape
    rc = relation_matrix(ctx_obj, cm.reshape(b * t, n), ca.reshape(b * t, n, n)).reshape(b, t, n, n)
    mean = rc.mean(1)
    rt = relation_matrix(tgt_obj, tm, ta)
    loss = CFG["relational_weight"] * F.mse_loss(mean, rt)
    return loss + CFG["context_self_weight"] * (rc - mean.unsqueeze(1)).pow(2).mean()


# ---------------------------------------------------------------- §6 diagnostics
class Diagnostics:
    def __init__(self):
        self.ctx, self.tgt, self.used, self.count = [], [], set(), 0

    @staticmethod
    def stats(x):
        c = x - x.mean(0, keepdim=True)
        cov = c.t() @ c / (x.shape[0] - 1)
        eig = torch.linalg.eigvalsh(cov + 1e-6 * torch.eye(x.shape[1])).clamp_min(0)
        p = eig / eig.sum().clamp_min(1e-8)
        z = c / c.std(0, unbiased=False).clamp_min(1e-6)
        return dict(variance=float(x.var(0, unbiased=False).mean()),
                    isotropy=float((eig.min() + 1e-8) / (eig.max().clamp_min(1e-8) + 1e-8)),
                    effective_rank=float(torch.exp(-(p * (p + 1e-12).log()).sum())),
                    gaussian_score=float(1 / (1 + z.pow(3).mean(0).abs().mean()
                                              + (z.pow(4).mean(0) - 3).abs().mean())))

    def observe(self, c, t, ci, cm, ti, tm):
        keep = CFG["diag_max_samples"]
        self.ctx = (self.ctx + [c.detach().float()])
        self.tgt = (self.tgt + [t.detach().float()])
        self.used.update(ci[cm > 0.5].tolist())
        self.used.update(ti[tm > 0.5].tolist())
        self.count += 1
        if self.count % CFG["diag_interval"] == 0:
            return self.emit(keep)
        return None

    def emit(self, keep):
        ctx = torch.cat(self.ctx)[-keep:]
        tgt = torch.cat(self.tgt)[-keep:]
        event = dict(context=self.stats(ctx), target=self.stats(tgt),
                     vq_active_codes=len(self.used), vq_usage_ratio=len(self.used) / CFG["num_embeddings"])
        self.ctx, self.tgt, self.used = [], [], set()
        return event


# ---------------------------------------------------------------- §5 loop
def lr_scale(step, total):
    if step < CFG["warmup"]:
        return (step + 1) / CFG["warmup"]
    p = min(1.0, (step - CFG["warmup"]) / max(1, total - CFG["warmup"]))
    return max(CFG["min_lr_scale"], 0.5 * (1 + math.cos(math.pi * p)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=0, help="optimizer steps (0: epochs x batches, as the C++ run)")
    ap.add_argument("--no-diagnostics", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(CFG["seed"])

    t0 = time.time()
    data = load_tokens(args.manifest)
    total = data[0].shape[0]
    n_val = max(1, round(total * CFG["validation_split"]))
    perm = torch.randperm(total)
    train_idx = perm[n_val:]
    bs = CFG["batch_size"]
    per_epoch = len(train_idx) // bs  # drop_last
    steps = args.steps or per_epoch * CFG["epochs"]
    print(f"data              {total} samples ({len(train_idx)} train), tokenised in {time.time() - t0:.2f} s")

    online = Jepa()
    target = copy.deepcopy(online)
    for p in target.parameters():
        p.requires_grad_(False)
    target.train()  # no .eval() anywhere in the reference (§0.4)
    log_tau = torch.tensor(math.log(CFG["temperature"]), requires_grad=True)
    params = [p for p in online.parameters()] + [log_tau]
    opt = torch.optim.Adam(params, lr=CFG["lr"], weight_decay=CFG["weight_decay"])
    queue = torch.zeros(CFG["queue_size"], CFG["projection_dim"])
    q_ptr, q_fill = 0, 0
    sigreg = Sigreg()
    diag = None if args.no_diagnostics else Diagnostics()
    online.train()

    timings = dict(forward=0.0, backward=0.0, optimizer=0.0, diagnostics=0.0)
    start = time.perf_counter()
    step, samples, last_loss = 0, 0, float("nan")
    while step < steps:
        order = train_idx[torch.randperm(len(train_idx))]
        for b in range(per_epoch):
            if step >= steps:
                break
            t_f = time.perf_counter()
            idx = order[b * bs:(b + 1) * bs]
            cf, cm, ca, tf, tm, ta = (x[idx] for x in data)
            ctx_obj, ctx_idx, ctx_repr = online.encode_context(cf, cm, ca)
            c = online.projection(ctx_repr)
            with torch.no_grad():
                tgt_obj, tgt_idx, tgt_repr = target.encode_target(tf, tm, ta)
                t = target.projection(tgt_repr)
            nce, tau = info_nce(c, t, queue[:q_fill], log_tau)
            inv = 0.0
            for weight, ctx_t, tgt_t in ((CFG["color_weight"], colour_permuted(cf, cm), colour_permuted(tf, tm)),
                                         (CFG["translation_weight"], translated(cf, cm), translated(tf, tm)),
                                         (CFG["symmetry_weight"], flipped(cf, cm), flipped(tf, tm))):
                _, _, cr = online.encode_context(ctx_t, cm, ca)
                _, _, tr = online.encode_target(tgt_t, tm, ta)
                inv = inv + weight * (F.mse_loss(cr, ctx_repr) + F.mse_loss(tr, tgt_repr))
            rel = relational_loss(ctx_obj, cm, ca, tgt_obj, tm, ta)
            sig = CFG["sigreg_weight"] * sigreg(c)
            loss = nce + inv + rel + sig
            values = torch.stack([nce, inv, rel, sig, loss]).detach().tolist()  # one host read, as logged
            if not math.isfinite(values[-1]):
                sys.exit(f"non-finite loss at step {step + 1}")
            t_b = time.perf_counter()
            loss.backward()
            t_o = time.perf_counter()
            lr = CFG["lr"] * lr_scale(step, steps)
            for g in opt.param_groups:
                g["lr"] = lr
            torch.nn.utils.clip_grad_norm_([p for p in params if p.grad is not None], CFG["max_norm"])
            opt.step()
            with torch.no_grad():
                for pt, po in zip(target.parameters(), online.parameters()):
                    pt.mul_(CFG["target_ema_decay"]).add_(po, alpha=1 - CFG["target_ema_decay"])
                rows = F.normalize(t.detach(), dim=1)
                n = rows.shape[0]
                end = q_ptr + n
                if end <= CFG["queue_size"]:
                    queue[q_ptr:end] = rows
                else:
                    first = CFG["queue_size"] - q_ptr
                    queue[q_ptr:] = rows[:first]
                    queue[:n - first] = rows[first:]
                q_ptr = end % CFG["queue_size"]
                q_fill = min(CFG["queue_size"], q_fill + n)
            opt.zero_grad()
            float(tau)
            t_d = time.perf_counter()
            if diag is not None:
                diag.observe(c, t, ctx_idx.reshape(-1), cm.reshape(-1), tgt_idx.reshape(-1), tm.reshape(-1))
            t_e = time.perf_counter()
            timings["forward"] += t_b - t_f
            timings["backward"] += t_o - t_b
            timings["optimizer"] += t_d - t_o
            timings["diagnostics"] += t_e - t_d
            step += 1
            samples += bs
            last_loss = values[-1]
    if diag is not None and diag.count % CFG["diag_interval"]:
        t_d = time.perf_counter()
        diag.emit(CFG["diag_max_samples"])
        timings["diagnostics"] += time.perf_counter() - t_d
    seconds = time.perf_counter() - start
    print(f"threads           {torch.get_num_threads()} (torch {torch.__version__})")
    print(f"optimizer steps   {step}")
    print(f"train loop        {seconds:.2f} s")
    print(f"train samples/s   {samples / seconds:.1f} ({samples} samples)")
    for k, v in timings.items():
        print(f"  {k:<15} {v:.3f} s ({100 * v / seconds:.1f}%)")
    print(f"final train loss  {last_loss:.4f}")


if __name__ == "__main__":
    main()
