#!/usr/bin/env python3
"""Opens the TensorBoard event files quill wrote with TensorBoard's own reader and checks what is in them.

Run by hand (not in CI), with TensorBoard installed:
    python3 -m venv /tmp/tbvenv && /tmp/tbvenv/bin/pip install tensorboard
    /tmp/tbvenv/bin/python Tools/tensorboard-check/check_events.py TB_DIR [--metrics RUN/metrics.jsonl]
            [--expect-text] [--expect-image]

TB_DIR is the --tensorboard directory of one run. With --metrics, every train/val loss and every histogram in
metrics.jsonl must appear in the event file at the same step with the same value (scalars in float32). Prints what
it found; exits 1 naming the first mismatch.
"""
import argparse
import json
import math
import sys

from tensorboard.backend.event_processing import event_accumulator as ea


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--metrics")
    parser.add_argument("--expect-text", action="store_true")
    parser.add_argument("--expect-image", action="store_true")
    args = parser.parse_args()

    acc = ea.EventAccumulator(args.dir, size_guidance={ea.SCALARS: 0, ea.HISTOGRAMS: 0, ea.IMAGES: 0, ea.TENSORS: 0})
    acc.Reload()
    tags = acc.Tags()
    for kind in ("scalars", "histograms", "images", "tensors"):
        names = sorted(tags.get(kind, []))
        print(f"{kind}: {len(names)} tags" + (f", e.g. {names[:4]}" if names else ""))
    for tag in ("train/loss", "val/loss"):
        if tag not in tags["scalars"]:
            fail(f"no scalar {tag}")
        events = acc.Scalars(tag)
        print(f"{tag}: {len(events)} points, steps {events[0].step}…{events[-1].step}, "
              f"first {events[0].value:.4f}, last {events[-1].value:.4f}")

    if args.metrics:
        scalars = {tag: {e.step: e.value for e in acc.Scalars(tag)} for tag in tags["scalars"]}
        checked_scalars = checked_histograms = 0
        for line in open(args.metrics):
            record = json.loads(line)
            kind, step = record["kind"], record["step"]
            if kind in ("train", "val"):
                if record.get("loss") is None:
                    continue
                got = scalars.get(f"{kind}/loss", {}).get(step)
                if got is None or not math.isclose(got, record["loss"], rel_tol=1e-6):
                    fail(f"{kind}/loss at step {step}: metrics.jsonl {record['loss']}, event file {got}")
                checked_scalars += 1
            elif kind == "histograms":
                for group in ("weights", "gradients"):
                    for name, h in record[group].items():
                        events = {e.step: e for e in acc.Histograms(f"{group}/{name}")}
                        if step not in events:
                            fail(f"{group}/{name}: no histogram at step {step}")
                        value = events[step].histogram_value
                        if list(map(int, value.bucket)) != h["counts"] or not math.isclose(value.max, h["max"]) \
                                or not math.isclose(value.min, h["min"]) or int(value.num) != sum(h["counts"]):
                            fail(f"{group}/{name} at step {step} differs from metrics.jsonl")
                        checked_histograms += 1
        print(f"metrics.jsonl: {checked_scalars} losses and {checked_histograms} histograms match the event file")

    if args.expect_text:
        text_tags = [t for t in tags["tensors"] if acc.SummaryMetadata(t).plugin_data.plugin_name == "text"]
        if not text_tags:
            fail("no text summary")
        events = acc.Tensors(text_tags[0])
        sample = events[-1].tensor_proto.string_val[0].decode("utf-8")
        print(f"text {text_tags[0]}: {len(events)} samples; last at step {events[-1].step}: {sample.strip()[:60]!r}")
    if args.expect_image:
        if not tags["images"]:
            fail("no image")
        events = acc.Images(tags["images"][0])
        last = events[-1]
        if not last.encoded_image_string.startswith(b"\x89PNG"):
            fail("the image is not a PNG")
        print(f"image {tags['images'][0]}: {len(events)} images; last at step {last.step}, "
              f"{last.width}×{last.height} px, {len(last.encoded_image_string)} bytes of PNG")
    print("OK")


if __name__ == "__main__":
    main()
