"""Per-step learning curve of a PyTorch synthesis network (Graves §5) on the data and schedule `quill train synthesis` uses.

Reads Quill's prepared dataset (datasets/README.md: offsets already normalised with the file's training statistics).
Same as Quill's HandwritingTask with default options:
- training set: the `train` split; samples with >= 2 points, at most --max-points points and a non-empty text
  (StrokeBatches); sorted by (points, index), cut into batches of --batch; epoch e visits them in the order of a
  Fisher-Yates shuffle by xoshiro256** seeded with seed + e * 0x9E3779B9 (StrokeBatches.order), so the batch sequence
  is exactly Quill's for the same --seed;
- inputs x_0..x_{L-2}, targets x_1..x_{L-1}, zero padding and a mask; every sequence starts from zero state;
- network: LSTM layer 1 reads [x_t, w_{t-1}], the soft window (K Gaussians, alpha = exp, beta = exp,
  kappa_t = kappa_{t-1} + exp(kappa_hat)/25, positions u = 1..U) reads h1_t, layer n > 1 reads [x_t, h^{n-1}_t, w_t],
  the mixture head (1 + 6M: e, pi, mu1, mu2, sigma1, sigma2, rho) reads every layer; sigma = 1e-4 + exp, rho = 0.9999 tanh,
  e = sigmoid(e_hat) (Sources/QuillNN/MixtureDensity.swift);
- loss: NLL summed over time, averaged over the batch's sequences; Graves's clips: dL/dy_hat clamped to +-100
  (--output-clip) and dL/d(LSTM pre-activations) clamped to +-10 at every step (--lstm-clip); no norm clip;
  Adam lr 1e-3 (betas 0.9, 0.999, eps 1e-8);
- validation: the `validation` split, 256 evenly spread lines (val[int(i * n / 256)]), batches of --batch sorted by
  length, NLL in nats per sequence (HandwritingEvaluation), after every --eval-every steps.
Initialisation (--init): `torch` is PyTorch's default (nn.LSTMCell / nn.Linear: uniform +-1/sqrt(fan), two LSTM bias
vectors each uniform +-1/sqrt(H), window bias uniform); `quill` is Quill's (LSTM weights uniform +-1/sqrt(H), one bias
vector, zero with the forget gate at 1; window alpha/beta biases -1). --lstm-bias and --window-bias set the two parts
separately. Prints one JSON object per validation: {"step", "val_nats_per_sequence", "val_nats_per_point",
"train_nats_per_point", "seconds"}.

Run by hand (not by CI), e.g.:
  /tmp/torchvenv/bin/python Tools/learning-curves/synthesis_curve.py --data runs/iam-d2.qds --layers 2 --hidden 128 \
      --steps 400 --eval-every 50
"""
import argparse, json, math, struct, time
import numpy as np
import torch, torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument("--data", required=True, help="prepared dataset (quill data import)")
p.add_argument("--steps", type=int, default=400)
p.add_argument("--eval-every", type=int, default=50)
p.add_argument("--layers", type=int, default=3)
p.add_argument("--hidden", type=int, default=400)
p.add_argument("--mixtures", type=int, default=20)
p.add_argument("--window", type=int, default=10)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--lr", type=float, default=1e-3)
p.add_argument("--output-clip", type=float, default=100.0, help="0 for none")
p.add_argument("--lstm-clip", type=float, default=10.0, help="0 for none")
p.add_argument("--max-points", type=int, default=2001)
p.add_argument("--val-samples", type=int, default=256)
p.add_argument("--init", choices=["torch", "quill"], default="torch")
p.add_argument("--lstm-bias", choices=["torch", "quill"], help="default: --init")
p.add_argument("--window-bias", choices=["torch", "quill"], help="default: --init")
p.add_argument("--init-from", help="start from the weights of a Quill synthesis checkpoint (.safetensors; fresh Adam), "
               "e.g. one written by `quill train synthesis --steps 1 --lr 1e-30`: Quill's initialisation for the seed")
p.add_argument("--seed", type=int, default=1, help="batch order (as quill's --seed)")
p.add_argument("--torch-seed", type=int, default=1, help="PyTorch's initialisation")
p.add_argument("--threads", type=int, default=1)
a = p.parse_args()
a.lstm_bias = a.lstm_bias or a.init
a.window_bias = a.window_bias or a.init
torch.manual_seed(a.torch_seed)
torch.set_num_threads(a.threads)

# ---- Quill's prepared file (Sources/QuillData/PreparedFormat.swift) ----
raw = open(a.data, "rb").read()
assert raw[:8] == b"QUILLDS\0", "not a Quill prepared file"
Hj, = struct.unpack_from("<I", raw, 12)
S, P, C, Bl = struct.unpack_from("<4Q", raw, 16)
header = json.loads(raw[64:64 + Hj])
off = 64 + Hj
def take(dtype, n):
    global off
    arr = np.frombuffer(raw, dtype=dtype, count=n, offset=off); off += arr.nbytes; return arr
point_start = take("<u8", S + 1).astype(np.int64); char_start = take("<u8", S + 1).astype(np.int64)
take("<u8", 3 * S + 1); take("<f8", 2 * S)
dx = take("<f4", P); dy = take("<f4", P); chars = take("<i4", C); eos = take("u1", P); split = take("u1", S)
V = len(header["alphabet"]["symbols"])
rows_all = np.stack([dx, dy, eos.astype(np.float32)], 1)
def sample(i):  # (points, 3) float32 and character indices
    return rows_all[point_start[i]:point_start[i + 1]], chars[char_start[i]:char_start[i + 1]]

def usable(ids, step_limit):
    return [i for i in ids if point_start[i + 1] - point_start[i] >= 2 and point_start[i + 1] - point_start[i] - 1 <= step_limit
            and char_start[i + 1] > char_start[i]]

def make_batches(ids, step_limit):  # StrokeBatches.init: sort by (points, position in the list)
    pos = {i: k for k, i in enumerate(ids)}
    u = sorted(usable(ids, step_limit), key=lambda i: (point_start[i + 1] - point_start[i], pos[i]))
    return [u[k:k + a.batch] for k in range(0, len(u), a.batch)]

train_ids = [i for i in range(S) if split[i] == 0]
val_ids = [i for i in range(S) if split[i] == 1]
if a.val_samples > 0 and len(val_ids) > a.val_samples:
    stride = len(val_ids) / a.val_samples
    val_ids = [val_ids[int(k * stride)] for k in range(a.val_samples)]
train_batches = make_batches(train_ids, a.max_points - 1)
val_batches = make_batches(val_ids, 1 << 62)

M64 = (1 << 64) - 1
class Xoshiro:  # QuillNumerics.SeededGenerator (splitmix64 seeding, xoshiro256**)
    def __init__(s, seed):
        z, s.s = seed & M64, []
        for _ in range(4):
            z = (z + 0x9E3779B97F4A7C15) & M64; x = z
            x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64; x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
            s.s.append(x ^ (x >> 31))
    @staticmethod
    def rotl(x, k): return ((x << k) | (x >> (64 - k))) & M64
    def next(s):
        st = s.s; r = (Xoshiro.rotl((st[1] * 5) & M64, 7) * 9) & M64; t = (st[1] << 17) & M64
        st[2] ^= st[0]; st[3] ^= st[1]; st[1] ^= st[2]; st[0] ^= st[3]; st[2] ^= t; st[3] = Xoshiro.rotl(st[3], 45)
        return r

def epoch_order(epoch):  # StrokeBatches.order
    rng = Xoshiro((a.seed + epoch * 0x9E3779B9) & M64); idx = list(range(len(train_batches)))
    for i in range(len(idx) - 1, 0, -1):
        j = rng.next() % (i + 1); idx[i], idx[j] = idx[j], idx[i]
    return idx

def fill(ids):  # StrokeBatches.fill: (T, B, 3) inputs, targets, (T, B) mask, (B, U, V) one-hot texts
    lens = [point_start[i + 1] - point_start[i] - 1 for i in ids]; T = max(lens); B = len(ids)
    texts = [sample(i)[1] for i in ids]; U = max(len(t) for t in texts)
    x = np.zeros((T + 1, B, 3), np.float32); mask = np.zeros((T, B), np.float32); onehot = np.zeros((B, U, V), np.float32)
    for b, i in enumerate(ids):
        pts, txt = sample(i); x[:lens[b] + 1, b] = pts; mask[:lens[b], b] = 1
        onehot[b, np.arange(len(txt)), txt] = 1
    x = torch.from_numpy(x)
    return x[:-1], x[1:], torch.from_numpy(mask), torch.from_numpy(onehot), sum(lens)

class ClampGrad(torch.autograd.Function):  # identity forward; backward clamps the gradient (Graves's clips)
    @staticmethod
    def forward(ctx, x, limit): ctx.limit = limit; return x.view_as(x)
    @staticmethod
    def backward(ctx, g): return g.clamp(-ctx.limit, ctx.limit), None

def clamp_grad(x, limit): return ClampGrad.apply(x, limit) if limit > 0 and torch.is_grad_enabled() else x

class LSTMLayer(nn.Module):
    """Gate order (i, f, g, o) as nn.LSTM and Quill. torch init: nn.LSTMCell's; quill bias: one vector, forget 1."""
    def __init__(s, n_in, H):
        super().__init__()
        cell = nn.LSTMCell(n_in, H)  # PyTorch's default initialisation of all four tensors
        s.w_ih, s.w_hh = cell.weight_ih, cell.weight_hh
        if a.lstm_bias == "torch": s.b_ih, s.b_hh = cell.bias_ih, cell.bias_hh
        else:
            b = torch.zeros(4 * H); b[H:2 * H] = 1; s.b_ih = nn.Parameter(b); s.b_hh = None
        s.H = H
    def bias(s): return s.b_ih if s.b_hh is None else s.b_ih + s.b_hh
    def step(s, pre_x, h, c):  # pre_x = x W_ih^T + b, (B, 4H)
        g = clamp_grad(pre_x + h @ s.w_hh.t(), a.lstm_clip)
        i, f, gg, o = g.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(gg)
        return torch.sigmoid(o) * torch.tanh(c), c

class Synthesis(nn.Module):
    def __init__(s):
        super().__init__()
        H, K, M, N = a.hidden, a.window, a.mixtures, a.layers
        s.layers = nn.ModuleList([LSTMLayer(3 + V if n == 0 else 3 + H + V, H) for n in range(N)])
        s.win = nn.Linear(H, 3 * K)
        if a.window_bias == "quill":
            with torch.no_grad(): s.win.bias[:2 * K] = -1
        s.out = nn.Linear(N * H, 1 + 6 * M)
    def forward(s, x, onehot):
        T, B, _ = x.shape; H, K = a.hidden, a.window; U = onehot.shape[1]
        l1 = s.layers[0]
        h = x.new_zeros(B, H); c = x.new_zeros(B, H); w = x.new_zeros(B, V); kappa = x.new_zeros(B, K, 1)
        u = torch.arange(1, U + 1, dtype=x.dtype).view(1, 1, U)
        # unbind, not px[t]: the backward of indexing would zero a (T, B, 4H) tensor at every step.
        px = (x @ l1.w_ih[:, :3].t() + l1.bias()).unbind(0); wih_w = l1.w_ih[:, 3:].t()
        hs, ws = [], []
        for t in range(T):
            h, c = l1.step(px[t] + w @ wih_w, h, c)
            al, be, ka = torch.exp(s.win(h)).view(B, 3, K, 1).unbind(1)
            kappa = kappa + ka / 25
            phi = (al * torch.exp(-be * (kappa - u) ** 2)).sum(1)       # (B, U)
            w = torch.bmm(phi.unsqueeze(1), onehot).squeeze(1)           # (B, V)
            hs.append(h); ws.append(w)
        outs = [torch.stack(hs)]; W = torch.stack(ws)
        for layer in s.layers[1:]:
            pre = (torch.cat([x, outs[-1], W], -1) @ layer.w_ih.t() + layer.bias()).unbind(0)
            h = x.new_zeros(B, H); c = x.new_zeros(B, H); hs = []
            for pre_t in pre:
                h, c = layer.step(pre_t, h, c); hs.append(h)
            outs.append(torch.stack(hs))
        return s.out(torch.cat(outs, -1))

def mdn_nll(y, target, mask):  # MixtureDensity.loss: summed over unmasked rows
    M = a.mixtures
    e_hat, pi_hat, mu1, mu2, s1h, s2h, rho_h = y.split([1, M, M, M, M, M, M], -1)
    s1 = 1e-4 + torch.exp(s1h); s2 = 1e-4 + torch.exp(s2h); rho = 0.9999 * torch.tanh(rho_h)
    x1, x2, x3 = target[..., 0:1], target[..., 1:2], target[..., 2]
    z1 = (x1 - mu1) / s1; z2 = (x2 - mu2) / s2; omr = 1 - rho * rho
    log_n = -math.log(2 * math.pi) - torch.log(s1) - torch.log(s2) - 0.5 * torch.log(omr) \
        - (z1 * z1 + z2 * z2 - 2 * rho * z1 * z2) / (2 * omr)
    log_p = torch.logsumexp(torch.log_softmax(pi_hat, -1) + log_n, -1)
    e_hat = e_hat.squeeze(-1)
    eos = x3 * nn.functional.softplus(-e_hat) + (1 - x3) * nn.functional.softplus(e_hat)
    return ((-log_p + eos) * mask).sum()

model = Synthesis()
if a.init_from:  # Quill stores x·W layouts (in, out): transpose to PyTorch's (out, in)
    blob = open(a.init_from, "rb").read(); n, = struct.unpack_from("<Q", blob, 0); meta = json.loads(blob[8:8 + n])
    def tensor(name):
        e = meta[name]; lo, hi = e["data_offsets"]
        return torch.from_numpy(np.frombuffer(blob, "<f4", (hi - lo) // 4, 8 + n + lo).reshape(e["shape"]).copy())
    assert a.lstm_bias == "quill", "--init-from needs --lstm-bias quill (one bias vector)"
    with torch.no_grad():
        for k, layer in enumerate(model.layers):
            layer.w_ih.copy_(tensor(f"lstm.{k}.wx").t()); layer.w_hh.copy_(tensor(f"lstm.{k}.wh").t())
            layer.b_ih.copy_(tensor(f"lstm.{k}.b"))
        model.win.weight.copy_(tensor("window.w").t()); model.win.bias.copy_(tensor("window.b"))
        model.out.weight.copy_(tensor("output.w").t()); model.out.bias.copy_(tensor("output.b"))
opt = torch.optim.Adam(model.parameters(), lr=a.lr)

@torch.no_grad()
def evaluate():
    nats, seqs, points = 0.0, 0, 0
    for ids in val_batches:
        x, y, mask, onehot, n = fill(ids)
        nats += mdn_nll(model(x, onehot), y, mask).item(); seqs += len(ids); points += n
    return nats / seqs, nats / points

print(json.dumps({"config": vars(a), "train_sequences": sum(map(len, train_batches)), "batches": len(train_batches),
                  "val_sequences": sum(map(len, val_batches)), "parameters": sum(q.numel() for q in model.parameters())}),
      flush=True)
if a.init_from:
    vs, vp = evaluate(); print(json.dumps({"step": 0, "val_nats_per_sequence": round(vs, 2), "val_nats_per_point": round(vp, 4)}))
start, epoch, order, k, win_nats, win_points = time.time(), 0, epoch_order(0), 0, 0.0, 0
for step in range(1, a.steps + 1):
    x, y, mask, onehot, n = fill(train_batches[order[k]])
    opt.zero_grad(set_to_none=True)
    out = model(x, onehot)
    nll = mdn_nll(clamp_grad(out, a.output_clip), y, mask)
    (nll / x.shape[1]).backward()
    opt.step()
    win_nats += nll.item(); win_points += n
    k += 1
    if k == len(train_batches): epoch, k = epoch + 1, 0; order = epoch_order(epoch)
    if step % a.eval_every == 0 or step == a.steps:
        vs, vp = evaluate()
        print(json.dumps({"step": step, "val_nats_per_sequence": round(vs, 2), "val_nats_per_point": round(vp, 4),
                          "train_nats_per_point": round(win_nats / max(win_points, 1), 4),
                          "seconds": round(time.time() - start, 1)}), flush=True)
        win_nats, win_points = 0.0, 0
