#!/usr/bin/env python3
"""Writes the golden fixtures Tests/Goldens/golden-*.safetensors: PyTorch's float64 results for Quill's layers,
losses and optimiser, which the Swift tests (QuillNNTests/GoldenTests, QuillModelsTests/GoldenTrainingTests) compare
with Quill's own, as llm.c checks its C against PyTorch.

Run by hand, not by CI, from the repository root:

    python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch safetensors numpy
    /tmp/torchvenv/bin/python Tests/Goldens/generate.py

Made with torch 2.13.0+cpu, numpy 2.4.6, safetensors 0.8.0 (Python 3.11.7); golden-mrnn, golden-phased-lstm and
golden-lstm-layer-norm with torch 2.15.0. Every value is seeded, so a rerun with
the same versions writes the same values (only the metadata's key order may change); another torch version may change
the last bits, far inside the tests' tolerances.

Conventions of every file: float64 tensors only (token ids and characters as whole numbers); sequences time-major
(T, B, ·) as in Quill; parameters under Quill's tensor names and in Quill's layout (`wx` (input, G·H), `wh` (H, G·H),
`b` (G·H), gate blocks LSTM (i, f, g, o), GRU (r, z, n); linear weights (input, output)); `grad.<name>` is the
gradient of `loss` with respect to tensor <name>; `out.<name>` is a forward result.

The recurrent layers run PyTorch's own nn.LSTM / nn.GRU with weights converted from Quill's layout by
`quill_rnn_to_torch`, the one place that knows PyTorch's layout (the README's claim that PyTorch loads Quill's LSTM
weights: transposes, same gate order). The parameters being differentiated and trained are the Quill-layout
tensors; the converted ones are built from them on every call (torch.func.functional_call), so gradients and Adam
updates come out in Quill's layout with no second conversion. PyTorch has no MRNN or Phased LSTM module: `mrnn_fixture`
and `phased_fixture` write Sutskever, Martens and Hinton's and Neil, Pfeiffer and Liu's equations out in torch operations.
"""
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.numpy import save_file
from torch.func import functional_call

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))

# Quill's constants (MixtureDensity, HandwritingConfig): the σ floor, the ρ bound and the window's κ step scale.
SIGMA_FLOOR = 1e-4
RHO_MAX = 0.9999
KAPPA_SCALE = 1.0 / 25


def quill_rnn_to_torch(wx, wh, b, bh=None, layer=0):
    """Quill's weights of one recurrent layer as PyTorch's nn.LSTM / nn.GRU state-dict entries of layer `layer`.

    Quill stores wx (input, G·H) and wh (H, G·H) for row-major x·W products; PyTorch stores weight_ih (G·H, input)
    and weight_hh (G·H, H) for W·x, so both are transposed. The gate blocks are in the same order in both: LSTM
    (i, f, g, o), GRU (r, z, n). PyTorch adds two biases: bias_ih is Quill's b; bias_hh is Quill's GRU bh, and zero
    for an LSTM (Quill's single LSTM bias is their sum; keep bias_hh at zero and untrained, or Adam would move the
    sum twice as far).
    """
    return {
        f"weight_ih_l{layer}": wx.t(),
        f"weight_hh_l{layer}": wh.t(),
        f"bias_ih_l{layer}": b,
        f"bias_hh_l{layer}": bh if bh is not None else torch.zeros_like(b),
    }


def run_rnn(module, params, x, state):
    """Runs nn.LSTM / nn.GRU `module` with Quill-layout `params` (list of (wx, wh, b[, bh]) per layer)."""
    weights = {}
    for n, p in enumerate(params):
        weights.update(quill_rnn_to_torch(*p, layer=n))
    return functional_call(module, weights, (x, state))


def leaf(a):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def const(a):
    return torch.tensor(np.asarray(a, dtype=np.float64))


def save(name, tensors):
    arrays = {k: (v.detach().numpy() if isinstance(v, torch.Tensor) else np.asarray(v, dtype=np.float64))
              for k, v in tensors.items()}
    arrays = {k: np.ascontiguousarray(v, dtype=np.float64).reshape(v.shape if np.ndim(v) else (1,))
              for k, v in arrays.items()}
    path = os.path.join(HERE, f"golden-{name}.safetensors")
    save_file(arrays, path, metadata={"generator": "Tests/Goldens/generate.py", "torch": torch.__version__})
    print(f"{path}: {len(arrays)} tensors, {os.path.getsize(path)} bytes")


def grads(prefix_names):
    return {f"grad.{n}": t.grad for n, t in prefix_names.items()}


# MARK: - Recurrent layers


def recurrent_fixture(kind, seed):
    """One LSTM or GRU layer, T = 3 steps, batch 2, input 3, H = 4, from a non-zero initial state.
    loss = Σ_t Σ h_t ⊙ r_t."""
    rng = np.random.RandomState(seed)
    T, B, I, H = 3, 2, 3, 4
    G = (4 if kind == "lstm" else 3) * H
    name = f"{kind}.0"
    bound = 1 / math.sqrt(H)
    p = {f"{name}.wx": leaf(rng.uniform(-bound, bound, (I, G)) * 2),
         f"{name}.wh": leaf(rng.uniform(-bound, bound, (H, G)) * 2),
         f"{name}.b": leaf(rng.uniform(-bound, bound, G))}
    if kind == "gru":
        p[f"{name}.bh"] = leaf(rng.uniform(-bound, bound, G))
    x, h0 = leaf(rng.normal(size=(T, B, I))), leaf(rng.normal(size=(B, H)) * 0.5)
    r = const(rng.normal(size=(T, B, H)))
    inputs = {"x": x, "h0": h0}
    layer = list(p.values())
    if kind == "lstm":
        c0 = leaf(rng.normal(size=(B, H)) * 0.5)
        inputs["c0"] = c0
        module = nn.LSTM(I, H)
        out, (hT, cT) = run_rnn(module, [layer], x, (h0[None], c0[None]))
        # The README's claim, literally: a plain nn.LSTM loads the converted weights (strict names and shapes).
        loaded = nn.LSTM(I, H)
        loaded.load_state_dict(quill_rnn_to_torch(*[t.detach() for t in layer]), strict=True)
        with torch.no_grad():
            reloaded = loaded(x, (h0[None], c0[None]))[0]
            assert torch.allclose(reloaded, out, rtol=1e-13, atol=0)
        extra = {"out.cT": cT[0]}
    else:
        module = nn.GRU(I, H)
        out, hT = run_rnn(module, [layer], x, h0[None])
        loaded = nn.GRU(I, H)
        loaded.load_state_dict(quill_rnn_to_torch(*[t.detach() for t in layer]), strict=True)
        with torch.no_grad():
            assert torch.allclose(loaded(x, h0[None])[0], out, rtol=1e-13, atol=0)
        extra = {}
    loss = (out * r).sum()
    loss.backward()
    save(kind, {**inputs, "r": r, **p, "out.h": out, **extra, "loss": loss,
                **grads(inputs), **grads(p)})


def mrnn_fixture(seed):
    """One MRNN layer (Sutskever, Martens and Hinton 2011, eqs. 4–6), written out in torch: PyTorch has no such
    module. T = 3 steps, batch 2, input 3, H = 4, F = 5 factors, from a non-zero initial state, in Quill's layout:
    wx = [W_hx | W_fx] (I, H + F), wh = W_fh (H, F), b (H), wf = W_hf (F, H);
    f_t = (x_t·W_fx) ⊙ (h_{t−1}·W_fh), h_t = tanh(f_t·W_hf + x_t·W_hx + b). loss = Σ_t Σ h_t ⊙ r_t."""
    rng = np.random.RandomState(seed)
    T, B, I, H, Fn = 3, 2, 3, 4, 5
    name = "mrnn.0"
    bound = 1 / math.sqrt(H)
    p = {f"{name}.wx": leaf(rng.uniform(-bound, bound, (I, H + Fn)) * 2),
         f"{name}.wh": leaf(rng.uniform(-bound, bound, (H, Fn)) * 2),
         f"{name}.b": leaf(rng.uniform(-bound, bound, H)),
         f"{name}.wf": leaf(rng.uniform(-bound, bound, (Fn, H)) * 2)}
    wx, wfh, b, whf = p.values()
    x, h0 = leaf(rng.normal(size=(T, B, I))), leaf(rng.normal(size=(B, H)) * 0.5)
    r = const(rng.normal(size=(T, B, H)))
    h, outs = h0, []
    for t in range(T):
        proj = x[t] @ wx
        f = proj[:, H:] * (h @ wfh)
        h = torch.tanh(f @ whf + proj[:, :H] + b)
        outs.append(h)
    out = torch.stack(outs)
    loss = (out * r).sum()
    loss.backward()
    inputs = {"x": x, "h0": h0}
    save("mrnn", {**inputs, "r": r, **p, "out.h": out, "loss": loss, **grads(inputs), **grads(p)})


def time_gate(t, log_tau, shift, open_logit, leak=0.001):
    """Neil et al.'s (2016) time gate k_t per unit (eqs. 6–7), as Quill's TimeGate: φ = ((t − s) mod τ)/τ, rising
    over the first half of r_on, falling over the second, leaking (α φ) when closed."""
    tau, r = torch.exp(log_tau), torch.sigmoid(open_logit)
    elapsed = t - shift
    phase = (elapsed - tau * torch.floor(elapsed / tau)) / tau
    return torch.where(phase < r / 2, 2 * phase / r, torch.where(phase < r, 2 - 2 * phase / r, leak * phase))


def phased_fixture(seed):
    """One Phased LSTM layer (Neil, Pfeiffer and Liu 2016) written out in torch: an LSTM step's c̃, h̃ (PyTorch's
    gate order i, f, g, o, one bias), blended by the time gate: c = k c̃ + (1 − k) c_prev, h = k h̃ + (1 − k) h_prev.
    T = 5 steps, batch 2 streams that have read 0 and 2 steps before (`times`), input 3, H = 4; periods of 1.5–4
    steps open for 30–80% of each, so that gates rise, fall and leak within the window. loss = Σ_t Σ h_t ⊙ r_t."""
    rng = np.random.RandomState(seed)
    T, B, I, H = 5, 2, 3, 4
    name = "phased-lstm.0"
    bound = 1 / math.sqrt(H)
    tau = rng.uniform(1.5, 4, H)
    r_on = rng.uniform(0.3, 0.8, H)
    p = {f"{name}.wx": leaf(rng.uniform(-bound, bound, (I, 4 * H)) * 2),
         f"{name}.wh": leaf(rng.uniform(-bound, bound, (H, 4 * H)) * 2),
         f"{name}.b": leaf(rng.uniform(-bound, bound, 4 * H)),
         f"{name}.period": leaf(np.log(tau)),
         f"{name}.time": leaf(np.concatenate([tau * rng.uniform(size=H), np.log(r_on / (1 - r_on))]))}
    wx, wh, b, log_tau, gate = p.values()
    times = np.array([0.0, 2.0])
    x, h0, c0 = leaf(rng.normal(size=(T, B, I))), leaf(rng.normal(size=(B, H)) * 0.5), leaf(rng.normal(size=(B, H)) * 0.5)
    r = const(rng.normal(size=(T, B, H)))
    h, c, outs = h0, c0, []
    for t in range(T):
        z = x[t] @ wx + b + h @ wh
        i, f, g, o = torch.sigmoid(z[:, :H]), torch.sigmoid(z[:, H:2 * H]), torch.tanh(z[:, 2 * H:3 * H]), torch.sigmoid(z[:, 3 * H:])
        c_tilde = f * c + i * g
        h_tilde = o * torch.tanh(c_tilde)
        k = time_gate(const(times + t)[:, None], log_tau[None], gate[None, :H], gate[None, H:])
        c = k * c_tilde + (1 - k) * c
        h = k * h_tilde + (1 - k) * h
        outs.append(h)
    out = torch.stack(outs)
    loss = (out * r).sum()
    loss.backward()
    inputs = {"x": x, "h0": h0, "c0": c0}
    save("phased-lstm", {**inputs, "times": times, "r": r, **p, "out.h": out, "out.cT": c, "loss": loss,
                         **grads(inputs), **grads(p)})


def layer_norm_fixture(seed):
    """One layer-normalised LSTM layer (Ba, Kiros and Hinton 2016, eqs. 20–22) with PyTorch's F.layer_norm
    (ε 1e-5): gates = LN(x·W_x)·g_x + LN(h·W_h)·g_h + b; c = f c_prev + i g; h = o tanh(LN(c)·g_c + b_c). T = 3
    steps, batch 2, input 3, H = 4, from a non-zero state, gains and cell bias away from 1 and 0."""
    rng = np.random.RandomState(seed)
    T, B, I, H = 3, 2, 3, 4
    G = 4 * H
    name = "lstm.0"
    bound = 1 / math.sqrt(H)
    p = {f"{name}.wx": leaf(rng.uniform(-bound, bound, (I, G)) * 2),
         f"{name}.wh": leaf(rng.uniform(-bound, bound, (H, G)) * 2),
         f"{name}.b": leaf(rng.uniform(-bound, bound, G)),
         f"{name}.ln.gx": leaf(rng.uniform(0.5, 1.5, G)),
         f"{name}.ln.gh": leaf(rng.uniform(0.5, 1.5, G)),
         f"{name}.ln.gc": leaf(rng.uniform(0.5, 1.5, H)),
         f"{name}.ln.bc": leaf(rng.uniform(-0.5, 0.5, H))}
    wx, wh, b, gx, gh, gc, bc = p.values()
    x, h0, c0 = leaf(rng.normal(size=(T, B, I))), leaf(rng.normal(size=(B, H)) * 0.5), leaf(rng.normal(size=(B, H)) * 0.5)
    r = const(rng.normal(size=(T, B, H)))
    h, c, outs = h0, c0, []
    for t in range(T):
        z = F.layer_norm(x[t] @ wx, (G,), weight=gx) + F.layer_norm(h @ wh, (G,), weight=gh) + b
        i, f, g, o = torch.sigmoid(z[:, :H]), torch.sigmoid(z[:, H:2 * H]), torch.tanh(z[:, 2 * H:3 * H]), torch.sigmoid(z[:, 3 * H:])
        c = f * c + i * g
        h = o * torch.tanh(F.layer_norm(c, (H,), weight=gc, bias=bc))
        outs.append(h)
    out = torch.stack(outs)
    loss = (out * r).sum()
    loss.backward()
    inputs = {"x": x, "h0": h0, "c0": c0}
    save("lstm-layer-norm", {**inputs, "r": r, **p, "out.h": out, "out.cT": c, "loss": loss, **grads(inputs), **grads(p)})


# MARK: - Mixture density (Graves eqs. 23–26, Quill's parametrisation)


def mixture_nll(y, targets, M):
    """Per-row (offsets NLL, end-of-stroke NLL) of raw outputs y (N, 1 + 6M), columns (ê, π̂, μ̂₁, μ̂₂, σ̂₁, σ̂₂, ρ̂)
    in blocks of M, with Quill's transforms: e = sigmoid(ê), π = softmax(π̂), σ = floor + exp σ̂, ρ = ρ_max tanh ρ̂.
    Written as the paper's density, not in log space, so it is an independent formulation of Quill's."""
    e = torch.sigmoid(y[:, 0])
    pi = torch.softmax(y[:, 1:1 + M], dim=1)
    mu1, mu2 = y[:, 1 + M:1 + 2 * M], y[:, 1 + 2 * M:1 + 3 * M]
    s1 = SIGMA_FLOOR + torch.exp(y[:, 1 + 3 * M:1 + 4 * M])
    s2 = SIGMA_FLOOR + torch.exp(y[:, 1 + 4 * M:1 + 5 * M])
    rho = RHO_MAX * torch.tanh(y[:, 1 + 5 * M:1 + 6 * M])
    x1, x2, x3 = targets[:, 0:1], targets[:, 1:2], targets[:, 2]
    z1, z2 = (x1 - mu1) / s1, (x2 - mu2) / s2
    Z = z1 ** 2 + z2 ** 2 - 2 * rho * z1 * z2                                     # eq. 25
    omr = 1 - rho ** 2
    N = torch.exp(-Z / (2 * omr)) / (2 * math.pi * s1 * s2 * torch.sqrt(omr))   # eq. 24
    offsets = -torch.log((pi * N).sum(dim=1))                                    # eq. 26, first term
    eos = -(x3 * torch.log(e) + (1 - x3) * torch.log(1 - e))                     # eq. 26, second term
    return offsets, eos


def mixture_fixture():
    """N = 6 rows, M = 3, one masked-out row, gradient scale 0.5. Row 2 has a collapsed component (σ̂ = −11, where
    the floor dominates σ) and a saturated correlation (ρ̂ = 8, where the bound matters)."""
    rng = np.random.RandomState(23)
    N, M = 6, 3
    y = np.concatenate([rng.normal(size=(N, 1)), rng.normal(size=(N, M)), rng.normal(size=(N, 2 * M)) * 0.6,
                        rng.normal(-0.4, 0.3, size=(N, 2 * M)), rng.normal(size=(N, M)) * 0.7], axis=1)
    y[2, 1 + 3 * M] = -11
    y[2, 1 + 5 * M + 1] = 8
    targets = np.concatenate([rng.normal(size=(N, 2)) * 0.7, rng.randint(0, 2, (N, 1))], axis=1)
    mask = np.array([1, 1, 1, 0, 1, 1], dtype=np.float64)
    scale = 0.5
    yt = leaf(y)
    offsets, eos = mixture_nll(yt, const(targets), M)
    m = const(mask)
    total, off, eo = (m * (offsets + eos)).sum(), (m * offsets).sum(), (m * eos).sum()
    (scale * total).backward()
    save("mixture", {"y": yt, "targets": targets, "mask": mask, "scale": scale, "components": M,
                     "sigma_floor": SIGMA_FLOOR, "rho_max": RHO_MAX,
                     "loss": total, "loss.offsets": off, "loss.eos": eo, "grad.y": yt.grad})


# MARK: - Soft window (Graves eqs. 46–51, κ step scaled by s)


def window_step(h, W, b, kappa, chars, lengths, K, U, V):
    """One window step over a batch: (α̂, β̂, κ̂) = h·W + b; α = exp α̂, β = exp β̂, κ_t = κ_{t−1} + s exp κ̂;
    φ(t, u) = Σ_k α_k exp(−β_k (κ_k − u)²) for u = 1…U_b + 1 (zero beyond); w_t = Σ_{u ≤ U_b} φ(t, u) c_u.
    Returns (w (B, V), κ_t (B, K), φ (B, U + 1))."""
    p = h @ W + b
    alpha, beta = torch.exp(p[:, :K]), torch.exp(p[:, K:2 * K])
    kappa = kappa + KAPPA_SCALE * torch.exp(p[:, 2 * K:])
    u = torch.arange(1, U + 2, dtype=torch.float64)                              # (U + 1)
    phi = (alpha[:, :, None] * torch.exp(-beta[:, :, None] * (kappa[:, :, None] - u) ** 2)).sum(dim=1)
    within = torch.tensor([[1.0 if i <= n else 0.0 for i in range(U + 1)] for n in lengths])  # u ≤ U_b + 1
    phi = phi * within
    onehot = torch.zeros(len(lengths), U, V)
    for bi, text in enumerate(chars):
        for ui in range(lengths[bi]):
            onehot[bi, ui, int(text[ui])] = 1
    w = torch.einsum("bu,buv->bv", phi[:, :U], onehot)
    return w, kappa, phi


def window_fixture():
    """T = 4 steps, batch 2 (texts of 4 and 2 characters, so padding must not leak), K = 3, input 4, alphabet 5.
    loss = Σ_t Σ w_t ⊙ r_t. κ̂'s bias is large enough that the window moves about a character per step."""
    rng = np.random.RandomState(46)
    T, B, K, I, V, U = 4, 2, 3, 4, 5, 4
    chars = [[1, 3, 3, 0], [4, 2, 0, 0]]
    lengths = [4, 2]
    W = leaf(rng.normal(size=(I, 3 * K)) * 0.4)
    b = leaf(np.concatenate([rng.normal(0, 0.3, K), rng.normal(0, 0.5, K), rng.uniform(2.5, 3.3, K)]))
    h, r = leaf(rng.normal(size=(T, B, I))), const(rng.normal(size=(T, B, V)))
    kappa = torch.zeros(B, K)
    ws, kappas, phis = [], [], []
    for t in range(T):
        w, kappa, phi = window_step(h[t], W, b, kappa, chars, lengths, K, U, V)
        ws.append(w); kappas.append(kappa); phis.append(phi)
    w_all = torch.stack(ws)
    loss = (w_all * r).sum()
    loss.backward()
    save("window", {"h": h, "r": r, "text": np.array(chars), "lengths": np.array(lengths), "components": K,
                    "kappa_scale": KAPPA_SCALE, "window.w": W, "window.b": b,
                    "out.w": w_all, "out.kappa": torch.stack(kappas), "out.phi": torch.stack(phis), "loss": loss,
                    "grad.h": h.grad, "grad.window.w": W.grad, "grad.window.b": b.grad})


# MARK: - Adam steps of whole models


def adam(params, lr):
    """PyTorch's Adam at Quill's defaults (β1 0.9, β2 0.999, ε 1e-8 added to √v̂: the textbook form Quill uses, with
    its bias corrections folded into the step size). No weight decay, no amsgrad."""
    return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8)


def clip_by_global_norm(params, max_norm):
    """Quill's GradientClipping.clipByGlobalNorm: g ← g · max/‖g‖ when ‖g‖ > max. (torch.nn.utils.clip_grad_norm_
    divides by ‖g‖ + 1e-6 instead, a 1e-6 relative difference that the Double tolerance would see.)"""
    norm = math.sqrt(sum(float((p.grad ** 2).sum()) for p in params))
    if norm > max_norm:
        for p in params:
            p.grad.mul_(max_norm / norm)
    return norm


def char_fixture():
    """A char model as `CharModel` builds it: one-hot input (V = 5), 2 LSTM layers × 4, a linear softmax layer; batch
    2 × 3 steps; 5 Adam steps (lr 1e-2) on 5 successive windows with the recurrent state carried (detached) from
    one window to the next, as `quill char train` does; the mean cross-entropy per character; gradients clipped to a
    global norm of 0.35, which some steps exceed and some do not (Quill's default, 5, is never reached at this size)."""
    rng = np.random.RandomState(2013)
    V, H, T, B, steps, lr, clip = 5, 4, 3, 2, 5, 1e-2, 0.35
    bound = 1 / math.sqrt(H)
    p = {}
    for n, inp in enumerate([V, H]):
        p[f"rnn.{n}.wx"] = leaf(rng.uniform(-bound, bound, (inp, 4 * H)))
        p[f"rnn.{n}.wh"] = leaf(rng.uniform(-bound, bound, (H, 4 * H)))
        bias = rng.uniform(-bound, bound, 4 * H)
        bias[H:2 * H] += 1
        p[f"rnn.{n}.b"] = leaf(bias)
    p["output.w"] = leaf(rng.uniform(-bound, bound, (H, V)))
    p["output.b"] = leaf(rng.uniform(-bound, bound, V))
    tokens = rng.randint(0, V, (steps, T + 1, B))
    inputs, targets = tokens[:, :T], tokens[:, 1:]
    initial = {k: v.detach().clone() for k, v in p.items()}
    module = nn.LSTM(V, H, num_layers=2)
    layers = [[p[f"rnn.{n}.wx"], p[f"rnn.{n}.wh"], p[f"rnn.{n}.b"]] for n in range(2)]
    opt = adam(list(p.values()), lr)
    state = (torch.zeros(2, B, H), torch.zeros(2, B, H))
    losses, norms, out = [], [], {}
    for s in range(steps):
        opt.zero_grad()
        x = F.one_hot(torch.tensor(inputs[s]), V).to(torch.float64)
        hs, (hT, cT) = run_rnn(module, layers, x, state)
        logits = hs @ p["output.w"] + p["output.b"]
        loss = F.cross_entropy(logits.reshape(-1, V), torch.tensor(targets[s]).reshape(-1))
        loss.backward()
        norms.append(clip_by_global_norm(list(p.values()), clip))
        opt.step()
        state = (hT.detach(), cT.detach())
        losses.append(loss.item())
        out.update({f"step{s + 1}.{k}": v.detach().clone() for k, v in p.items()})
    assert min(norms) < clip < max(norms), f"clip {clip} should bind on some steps only: norms {norms}"
    save("char-adam", {**initial, "inputs": inputs, "targets": targets, "lr": lr, "clip": clip,
                       "loss": np.array(losses), "norm": np.array(norms), **out})


def synthesis_fixture():
    """A synthesis network as `HandwritingModel` builds it: 2 LSTM layers × 3, window K = 2 over an alphabet of 4,
    M = 2 mixtures; batch 2 × 5 steps (row 1's last step masked out), texts of 3 and 2 characters; 5 Adam steps
    (lr 1e-2) on the same batch from zero state. Layer 1 reads [x_t, w_{t−1}], the window reads h¹_t, layer 2 reads
    [x_t, h¹_t, w_t], the output reads [h¹_t, h²_t]. The loss is the mixture NLL summed over unmasked steps, its
    gradient divided by the number of sequences (2). Graves's clipping (∂L/∂ŷ at 100, LSTM pre-activation
    derivatives at 10) is off in both; the script checks that ∂L/∂ŷ stays far below 100 here."""
    rng = np.random.RandomState(1996)
    H, V, K, M, T, B, U, steps, lr = 3, 4, 2, 2, 5, 2, 3, 5, 1e-2
    chars, lengths = [[1, 2, 3], [3, 1, 0]], [3, 2]
    bound = 1 / math.sqrt(H)
    p = {}
    for n, inp in enumerate([3 + V, 3 + H + V]):
        p[f"lstm.{n}.wx"] = leaf(rng.uniform(-bound, bound, (inp, 4 * H)))
        p[f"lstm.{n}.wh"] = leaf(rng.uniform(-bound, bound, (H, 4 * H)))
        bias = rng.uniform(-bound, bound, 4 * H)
        bias[H:2 * H] += 1
        p[f"lstm.{n}.b"] = leaf(bias)
    wb = rng.uniform(-bound, bound, 3 * K)
    wb[:2 * K] -= 1
    wb[2 * K:] += 2.5            # a window that moves about a character per step at s = 1/25
    p["window.w"] = leaf(rng.uniform(-bound, bound, (H, 3 * K)))
    p["window.b"] = leaf(wb)
    ob = 1 / math.sqrt(2 * H)
    p["output.w"] = leaf(rng.uniform(-ob, ob, (2 * H, 1 + 6 * M)))
    p["output.b"] = leaf(rng.uniform(-ob, ob, 1 + 6 * M))
    inputs = np.concatenate([rng.normal(size=(T, B, 2)), rng.randint(0, 2, (T, B, 1))], axis=2)
    targets = np.concatenate([rng.normal(size=(T, B, 2)), rng.randint(0, 2, (T, B, 1))], axis=2)
    mask = np.ones((T, B))
    mask[T - 1, 1] = 0
    sequences = 2
    initial = {k: v.detach().clone() for k, v in p.items()}
    lstm1, lstm2 = nn.LSTM(3 + V, H), nn.LSTM(3 + H + V, H)
    layer1 = [[p["lstm.0.wx"], p["lstm.0.wh"], p["lstm.0.b"]]]
    layer2 = [[p["lstm.1.wx"], p["lstm.1.wh"], p["lstm.1.b"]]]
    opt = adam(list(p.values()), lr)
    x, m = const(inputs), const(mask)
    losses, out = [], {}
    for s in range(steps):
        opt.zero_grad()
        state = (torch.zeros(1, B, H), torch.zeros(1, B, H))
        kappa, w = torch.zeros(B, K), torch.zeros(B, V)
        h1s, ws = [], []
        for t in range(T):
            h1, state = run_rnn(lstm1, layer1, torch.cat([x[t], w], dim=1)[None], state)
            w, kappa, _ = window_step(h1[0], p["window.w"], p["window.b"], kappa, chars, lengths, K, U, V)
            h1s.append(h1[0]); ws.append(w)
        h1s, ws = torch.stack(h1s), torch.stack(ws)
        h2s, _ = run_rnn(lstm2, layer2, torch.cat([x, h1s, ws], dim=2), (torch.zeros(1, B, H), torch.zeros(1, B, H)))
        y = torch.cat([h1s, h2s], dim=2) @ p["output.w"] + p["output.b"]
        y.retain_grad()
        offsets, eos = mixture_nll(y.reshape(T * B, -1), const(targets).reshape(T * B, 3), M)
        total = (m.reshape(-1) * (offsets + eos)).sum()
        (total / sequences).backward()
        assert float(y.grad.abs().max()) < 10, "Graves's output clip (100) would bind"
        opt.step()
        losses.append(total.item())
        out.update({f"step{s + 1}.{k}": v.detach().clone() for k, v in p.items()})
    save("synthesis-adam", {**initial, "inputs": inputs, "targets": targets, "mask": mask, "text": np.array(chars),
                            "lengths": np.array(lengths), "lr": lr, "components": M, "window_components": K,
                            "kappa_scale": KAPPA_SCALE, "loss": np.array(losses), **out})


if __name__ == "__main__":
    recurrent_fixture("lstm", 7)
    recurrent_fixture("gru", 11)
    mrnn_fixture(13)
    phased_fixture(17)
    layer_norm_fixture(19)
    mixture_fixture()
    window_fixture()
    char_fixture()
    synthesis_fixture()
