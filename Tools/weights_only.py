#!/usr/bin/env python3
"""Writes the weights of a Quill training checkpoint without its optimiser state: a model file to ship.

    python3 Tools/weights_only.py runs/syn-e4000/last.safetensors models/synthesis/model.safetensors

A training run's `last.safetensors` (its resume point) holds the network's tensors, the optimiser's (`adam.m.*`,
`adam.v.*`, …) and the trainer's position (metadata `quill.trainer`); its `model.safetensors` holds the weights of
the best validation only. To ship the weights of the last step instead, this copies every tensor that is not
optimiser or weight-noise state, byte for byte, and all metadata except `quill.trainer` (`quill.data-checksum` made
again for the new data section), and records the step in `quill.best`
(as the trainer does for its best model) with `"last": true`, so the file says it is not the run's best
validation. Standard library only; the output is written to a temporary file and renamed, and is refused when it
is the input.
"""

import json
import os
import struct
import sys

# The run-state tensors Quill's checkpoints hold beside the weights: the optimisers' slots (QuillOptim: "adam.",
# "rmsprop.", "sgd.", Hessian-free's "hf.") and adaptive weight noise's ln σ per weight ("noise.", WeightNoise.swift).
OPTIMISER_PREFIXES = ("adam.", "rmsprop.", "sgd.", "hf.", "noise.")


def data_checksum(body):
    """`quill.data-checksum` of a data section, as SafeTensors.checksumText writes it: FNV-1a 64 over its
    little-endian 64-bit words, then its last bytes one by one."""
    h, prime, mask = 0xCBF29CE484222325, 0x100000001B3, (1 << 64) - 1
    whole = len(body) - len(body) % 8
    for (word,) in struct.iter_unpack("<Q", body[:whole]):
        h = ((h ^ word) * prime) & mask
    for byte in body[whole:]:
        h = ((h ^ byte) * prime) & mask
    return f"fnv1a64:{h:016x}"


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.split("\n\n")[1])
    src, dst = sys.argv[1], sys.argv[2]
    if os.path.exists(dst) and os.path.samefile(src, dst):
        raise SystemExit("weights_only: the output is the input")
    with open(src, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise SystemExit(f"weights_only: {src} is not a safetensors file")
    n = struct.unpack("<Q", data[:8])[0]
    if n > len(data) - 8:
        raise SystemExit(f"weights_only: {src}: header length {n} past the end of the file")
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    meta = dict(header.pop("__metadata__", {}))
    trainer = meta.pop("quill.trainer", None)
    if trainer is None:
        raise SystemExit(f"weights_only: {src} has no quill.trainer: it is not a training checkpoint")
    step = json.loads(trainer).get("step")
    out_header, chunks, offset = {}, [], 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        if name.startswith(OPTIMISER_PREFIXES):
            continue
        a, b = info["data_offsets"]
        if not 0 <= a <= b <= len(body):
            raise SystemExit(f"weights_only: {src}: tensor {name} lies outside the file")
        chunks.append(body[a:b])
        out_header[name] = dict(info, data_offsets=[offset, offset + b - a])
        offset += b - a
    meta["quill.best"] = json.dumps({"step": step, "last": True}, separators=(",", ":"))
    # The data section changed: its checksum is made again (Quill checks it on loading; the source's would not match).
    meta["quill.data-checksum"] = data_checksum(b"".join(chunks))
    out_header["__metadata__"] = meta
    text = json.dumps(out_header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = dst + ".tmp-weights-only"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for c in chunks:
            f.write(c)
    os.replace(tmp, dst)
    print(f"wrote {dst}: {len(out_header) - 1} tensors of step {step}, {8 + len(text) + offset} bytes")


if __name__ == "__main__":
    main()
