#!/usr/bin/env python3
"""Chooses a synthesis model's shipped styles by how well OCR reads what the model writes in them.

    python3 Tools/legibility/choose_styles.py --quill .build/release/quill --model models/synthesis
    python3 Tools/legibility/choose_styles.py --make-selection        # once: draws selection.txt (committed)

A style is a prime: strokes the model wrote itself (`quill style add NAME --text T --seed S --bias B`), which then
sets the hand of everything written with `--style NAME` (and, for the style named "default", of everything
written without `--style`). Which hand a seed gives is chance, and hands differ a lot in legibility: with one
model, the four styles made by one fixed recipe read at CER 0.09 to 0.30. This script makes candidate primes
(every prime text in PRIME_TEXTS × seeds 1..--seeds × biases in --prime-biases), writes the selection sentences in
each, reads them back with tesseract and prints the candidates from most to least legible, with the
`quill style add` command that re-makes each one (the Makefile's `styles` target records the chosen ones).

The selection sentences are not the benchmark's: `selection.txt` holds 46 sentences of War and Peace, drawn once
by `--make-selection` with seed 1869 by the rules of make_sentences.py (20-60 characters of the old model's
alphabet, whole sentences): 24 ordinary ones, the book's 10 with digits and 12 more in capitals. The candidates are
ranked by the mean CER over all 46 (or over one group with `--rank-by ordinary|digits|capitals`), and the table
gives it per group too.
Choosing on them and measuring with `legibility.py` on Sherlock Holmes keeps the choice from fitting the
benchmark's own sentences.

The style named default also writes every page written without `--style`, so `--pages N` writes the two
selection passages of `selection-passages.txt` (War and Peace, about 1,000 characters each, drawn once by
`--make-selection-passages` with seed 1869 by the passage rule of make_sentences.py) with the N best candidates,
seeds 1 and 2, exactly as legibility.py writes its pages (`--input FILE`, read with `--psm 6`), and prints their
mean page CER beside the sentences' figures; the default is then chosen among those N by it.

Each candidate's sentences are written exactly as legibility.py writes its sentences (sentence i with seed i,
bias --bias, `--line-height 60 --pen-width 2`, one pixel per point) and read with `--psm 7`; CER and "last word
right" are legibility.py's. Candidate primes live in a temporary copy of the model directory, so the model's own
styles are never touched. Standard library only; tesseract is installed with apt-get when missing (as root).
"""

import argparse
import concurrent.futures
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import legibility  # noqa: E402  (cer, last_word_right, ensure_tesseract, Runner)
import make_sentences  # noqa: E402  (paragraphs, split_sentences, good_sentence)

SELECTION = os.path.join(HERE, "selection.txt")
SELECTION_PASSAGES = os.path.join(HERE, "selection-passages.txt")
PAGE_SEEDS = (1, 2)
SELECTION_SEED = 1869  # War and Peace's first complete edition
SELECTION_SIZE = 24
SELECTION_CAPITALS = 12
# The prime texts of the Makefile's styles: ordinary lowercase words, so the hand, not the text, is chosen.
PRIME_TEXTS = ("the moon rose over the quiet hills", "a letter to a friend far away", "bring the books home tonight")


def make_selection(book):
    """24 ordinary sentences, every sentence with a digit (10 in War and Peace) and 12 more sentences written in
    capitals, so a hand is judged on digits and capitals too; one per line, in that order."""
    with open(book, encoding="utf-8") as f:
        pars = make_sentences.paragraphs(f.read())
    candidates, seen = [], set()
    for p in pars:
        if len(p) < 200:
            continue
        for s in make_sentences.split_sentences(p):
            if make_sentences.good_sentence(s) and s not in seen:
                seen.add(s)
                candidates.append(s)
    digits = [s for s in candidates if re.search(r"[0-9]", s)]
    plain = [s for s in candidates if s not in digits]
    rng = random.Random(SELECTION_SEED)
    picked = rng.sample(range(len(plain)), SELECTION_SIZE + SELECTION_CAPITALS)
    ordinary = [plain[i] for i in sorted(picked[:SELECTION_SIZE])]
    capitals = [plain[i].upper() for i in sorted(picked[SELECTION_SIZE:])]
    with open(SELECTION, "w", encoding="utf-8") as f:
        f.writelines(s + "\n" for s in ordinary + digits + capitals)
    print(f"wrote {SELECTION}: {len(ordinary)} ordinary sentences, {len(digits)} with digits, {len(capitals)} in "
          f"capitals, from {len(candidates)} eligible sentences of {book}")


def make_selection_passages(book):
    """Two passages of War and Peace by make_sentences.py's passage rule, seeded with SELECTION_SEED; wrapped
    lines, passages separated by a line holding only ---, as passages.txt."""
    with open(book, encoding="utf-8") as f:
        pars = make_sentences.paragraphs(f.read())
    prose = [i for i, p in enumerate(pars) if len(p) >= 200]
    passages = make_sentences.draw_passages(pars, prose, random.Random(SELECTION_SEED), 2)
    with open(SELECTION_PASSAGES, "w", encoding="utf-8") as f:
        f.write("---\n".join("".join(l + "\n" for l in lines) for lines in passages))
    print(f"wrote {SELECTION_PASSAGES}: {len(passages)} passages "
          f"({', '.join(str(len(chr(10).join(p))) for p in passages)} characters) from {book}")


def read_passages(path):
    with open(path, encoding="utf-8") as f:
        return [p.strip("\n") for p in f.read().split("---\n") if p.strip()]


def group(sentence):
    if re.search(r"[0-9]", sentence):
        return "digits"
    return "capitals" if sentence.isupper() else "ordinary"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quill", default=".build/release/quill")
    ap.add_argument("--model", default="models/synthesis", help="synthesis model directory (default %(default)s)")
    ap.add_argument("--seeds", type=int, default=6, help="prime seeds 1..N per text and bias (default %(default)s)")
    ap.add_argument("--prime-biases", default="1,1.5", help="biases the primes are sampled at (default %(default)s)")
    ap.add_argument("--bias", type=float, default=1.0, help="bias the sentences are written at (default %(default)s)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--rank-by", choices=("all", "ordinary", "digits", "capitals", "last-word"), default="all",
                    help="rank by the mean CER over all selection sentences or over one group, or by the share of "
                         "lines whose last word is read right (ties: mean CER) (default %(default)s)")
    ap.add_argument("--groups", default="ordinary,digits,capitals",
                    help="selection sentences written: a comma-separated subset of ordinary, digits, capitals "
                         "(default %(default)s)")
    ap.add_argument("--sentence-seeds", type=int, default=1,
                    help="write sentence i with seeds i, i+100, ..., i+100(K-1) (legibility.py's --seed-offset "
                         "0, 100, ...), so a hand is judged on K tries of each sentence (default %(default)s)")
    ap.add_argument("--top", type=int, default=10, help="candidates to print (default %(default)s)")
    ap.add_argument("--pages", type=int, default=0,
                    help="write the selection passages with the N best candidates and print their page CER "
                         "(default %(default)s: none)")
    ap.add_argument("--make-selection", action="store_true", help="draw selection.txt from --book and stop")
    ap.add_argument("--make-selection-passages", action="store_true",
                    help="draw selection-passages.txt from --book and stop")
    ap.add_argument("--book", default=os.path.join(ROOT, "..", "shared", "datasets", "war_and_peace", "input.txt"))
    args = ap.parse_args()

    if args.make_selection:
        if os.path.exists(SELECTION):
            raise SystemExit(f"choose_styles: {SELECTION} exists; it is drawn once and committed")
        make_selection(args.book)
        return
    if args.make_selection_passages:
        if os.path.exists(SELECTION_PASSAGES):
            raise SystemExit(f"choose_styles: {SELECTION_PASSAGES} exists; it is drawn once and committed")
        make_selection_passages(args.book)
        return
    if args.seeds < 1 or args.jobs < 1 or args.pages < 0 or args.sentence_seeds < 1:
        raise SystemExit("choose_styles: --seeds, --sentence-seeds and --jobs are at least 1, --pages at least 0")
    wanted = [g for g in args.groups.split(",") if g]
    if not wanted or any(g not in ("ordinary", "digits", "capitals") for g in wanted):
        raise SystemExit(f"choose_styles: --groups {args.groups!r} is not a subset of ordinary,digits,capitals")
    try:
        biases = [float(b) for b in args.prime_biases.split(",")]
    except ValueError:
        raise SystemExit(f"choose_styles: --prime-biases {args.prime_biases!r} is not a comma-separated list of numbers")
    weights = os.path.join(args.model, "model.safetensors")
    if not os.path.isfile(weights):
        raise SystemExit(f"choose_styles: no model.safetensors in {args.model}")
    with open(SELECTION, encoding="utf-8") as f:
        # Numbered as in the whole file, so a sentence keeps its seed whichever groups are written.
        sentences = [(i, s) for i, s in enumerate((l.rstrip("\n") for l in f if l.strip()), 1) if group(s) in wanted]
    legibility.ensure_tesseract()

    work = tempfile.mkdtemp(prefix="quill-styles-")
    try:
        model = os.path.join(work, "model")
        os.makedirs(os.path.join(model, "styles"))
        os.symlink(os.path.abspath(weights), os.path.join(model, "model.safetensors"))
        runner = legibility.Runner(argparse.Namespace(quill=args.quill, model=model, ocr_scale=1, ocr_pad=20,
                                                      text_arg=False), work)
        candidates = []
        for t, text in enumerate(PRIME_TEXTS):
            for b in biases:
                for seed in range(1, args.seeds + 1):
                    name = f"c{len(candidates):03d}"
                    cmd = [args.quill, "style", "add", name, "--model", model, "--text", text, "--seed", str(seed),
                           "--bias", f"{b:g}"]
                    p = subprocess.run(cmd, capture_output=True, text=True)
                    if p.returncode != 0:
                        print(f"skipped (style add failed): {' '.join(cmd[2:])}: {p.stderr.strip()}")
                        continue
                    candidates.append({"name": name, "text": text, "seed": seed, "bias": b})
        print(f"{len(candidates)} candidate primes x {len(sentences)} selection sentences x {args.sentence_seeds} "
              f"seed(s) at bias {args.bias:g}", flush=True)

        def read(c, i, sentence):
            return c["name"], legibility.item(runner, "sentence", sentence, args.bias, i, style=c["name"])

        results = {c["name"]: [] for c in candidates}
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(read, c, i + 100 * k, s) for c in candidates for i, s in sentences
                       for k in range(args.sentence_seeds)]
            for f in concurrent.futures.as_completed(futures):
                name, rec = f.result()
                results[name].append(rec)
        groups = ("ordinary", "digits", "capitals")
        for c in candidates:
            recs = results[c["name"]]
            c["cer"] = sum(r["cer"] for r in recs) / len(recs)
            c["last"] = sum(r["last_word_right"] for r in recs) / len(recs)
            for g in groups:
                part = [r["cer"] for r in recs if group(r["reference"]) == g]
                c[g] = sum(part) / len(part) if part else float("nan")
        if args.rank_by == "last-word":
            candidates.sort(key=lambda c: (-c["last"], c["cer"], c["name"]))
            print("ranked by the share of lines whose last word is read right, then the mean CER")
        else:
            key = "cer" if args.rank_by == "all" else args.rank_by
            candidates.sort(key=lambda c: (c[key], c["cer"], -c["last"], c["name"]))
            print(f"ranked by the mean CER of {'all sentences' if key == 'cer' else 'the ' + key + ' sentences'}")
        paged = candidates[:args.pages]
        if paged:
            passages = read_passages(SELECTION_PASSAGES)

            def page(c, i, passage, seed):
                return c["name"], legibility.item(runner, "page", passage, args.bias, seed, style=c["name"])

            pages = {c["name"]: [] for c in paged}
            with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
                futures = [pool.submit(page, c, i, p, seed) for c in paged for i, p in enumerate(passages)
                           for seed in PAGE_SEEDS]
                for f in concurrent.futures.as_completed(futures):
                    name, rec = f.result()
                    pages[name].append(rec["cer"])
            for c in paged:
                c["page"] = sum(pages[c["name"]]) / len(pages[c["name"]])
            print(f"page: mean CER of the {len(passages)} selection passages x seeds "
                  f"{', '.join(map(str, PAGE_SEEDS))} (--psm 6), for the {len(paged)} best")
        print(f"\n{'CER':>6} {'last':>5} {'ordin.':>6} {'digits':>6} {'capit.':>6} {'page':>6}  "
              f"prime (quill style add NAME --model {args.model} ...)")
        for c in candidates[:args.top]:
            pg = f"{c['page']:6.3f}" if "page" in c else f"{'':6}"
            print(f"{c['cer']:6.3f} {c['last']:5.0%} {c['ordinary']:6.3f} {c['digits']:6.3f} {c['capitals']:6.3f} "
                  f"{pg}  --text \"{c['text']}\" --seed {c['seed']} --bias {c['bias']:g}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
