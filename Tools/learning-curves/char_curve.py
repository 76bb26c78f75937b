"""Per-step learning curve of PyTorch's char LSTM on the data and schedule `quill char train` uses.

Same split (last --val-fraction held out), vocabulary (sorted Unicode scalars), batching (B streams of the training text
read in order, state carried across windows and reset at each epoch, as Quill's StreamBatcher), loss (mean nats/char),
Adam lr 2e-3, global-norm clip 5, and validation (up to 32 contiguous streams, read in 128-step windows with carried
state, as Quill's CharEvaluation). Model: nn.Embedding(V, V) (or a fixed one-hot) -> nn.LSTM(layers, hidden) -> Linear,
PyTorch's default initialisation. Prints one JSON object per validation: {"step", "val_loss", "train_loss", "seconds"}.

Run by hand (not by CI): /tmp/torchvenv/bin/python Tools/learning-curves/char_curve.py --data FILE --steps 2000
"""
import argparse, json, time
import torch, torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument("--data", required=True)
p.add_argument("--steps", type=int, default=2000)
p.add_argument("--eval-every", type=int, default=100)
p.add_argument("--layers", type=int, default=2)
p.add_argument("--hidden", type=int, default=512)
p.add_argument("--batch", type=int, default=50)
p.add_argument("--seq", type=int, default=50)
p.add_argument("--lr", type=float, default=2e-3)
p.add_argument("--clip", type=float, default=5.0)
p.add_argument("--val-fraction", type=float, default=0.1)
p.add_argument("--input", choices=["embedding", "onehot"], default="embedding")
p.add_argument("--seed", type=int, default=1)
p.add_argument("--forget-bias", type=float, default=None,
               help="Quill's LSTM biases instead of PyTorch's: one bias vector (b_hh zero and frozen), zero but for the forget gate's, set to this")
p.add_argument("--threads", type=int, default=0)
a = p.parse_args()
torch.manual_seed(a.seed)
if a.threads: torch.set_num_threads(a.threads)

text = open(a.data, encoding="utf-8").read()
chars = sorted(set(text)); V = len(chars); index = {c: i for i, c in enumerate(chars)}
tokens = torch.tensor([index[c] for c in text], dtype=torch.long)
n_train = int(len(tokens) * (1 - a.val_fraction)) if a.val_fraction > 0 else len(tokens)
train, val = tokens[:n_train], tokens[n_train:]

class CharLM(nn.Module):
    def __init__(s):
        super().__init__()
        if a.input == "embedding": s.emb = nn.Embedding(V, V)
        else: s.register_buffer("eye", torch.eye(V))
        s.rnn = nn.LSTM(V, a.hidden, num_layers=a.layers); s.out = nn.Linear(a.hidden, V)
    def forward(s, x, state):
        e = s.emb(x) if a.input == "embedding" else s.eye[x]
        h, state = s.rnn(e, state); return s.out(h), state

model = CharLM()
if a.forget_bias is not None:
    with torch.no_grad():
        for name, t in model.rnn.named_parameters():
            if name.startswith("bias_ih"): t.zero_(); t[a.hidden:2 * a.hidden] = a.forget_bias
            if name.startswith("bias_hh"): t.zero_(); t.requires_grad_(False)
opt = torch.optim.Adam([q for q in model.parameters() if q.requires_grad], lr=a.lr)
B, T = a.batch, a.seq
L = len(train) // B
streams = train[: B * L].view(B, L).t()  # (L, B): stream b is train[b*L : (b+1)*L]

@torch.no_grad()
def evaluate():
    Bv = max(1, min(32, (len(val) - 1) // 64)); Lv = len(val) // Bv
    s = val[: Bv * Lv].view(Bv, Lv).t(); total, state, pos = 0.0, None, 0
    while pos < Lv - 1:
        n = min(128, Lv - 1 - pos)
        logits, state = model(s[pos:pos + n], state)
        total += nn.functional.cross_entropy(logits.reshape(-1, V), s[pos + 1:pos + n + 1].reshape(-1), reduction="sum").item()
        pos += n
    return total / (Bv * (Lv - 1))

pos, state, start, window = 0, None, time.time(), []
for step in range(1, a.steps + 1):
    x, y = streams[pos:pos + T], streams[pos + 1:pos + T + 1]
    opt.zero_grad(set_to_none=True)
    logits, state = model(x, state)
    loss = nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
    loss.backward()
    if a.clip > 0: torch.nn.utils.clip_grad_norm_([q for q in model.parameters() if q.requires_grad], a.clip)
    opt.step()
    window.append(loss.item())
    state = tuple(t.detach() for t in state)
    pos += T
    if pos + T + 1 > L: pos, state = 0, None
    if step % a.eval_every == 0 or step == a.steps:
        print(json.dumps({"step": step, "val_loss": round(evaluate(), 4), "train_loss": round(sum(window) / len(window), 4),
                          "seconds": round(time.time() - start, 1)}), flush=True)
        window = []
