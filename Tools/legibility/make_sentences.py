#!/usr/bin/env python3
"""Draws the legibility benchmark's texts from The Complete Sherlock Holmes (run once; its output is committed).

    python3 Tools/legibility/make_sentences.py [--book ../shared/datasets/sherlock_holmes/input.txt]

Writes, next to this script:

- ``sentences.txt``: 36 sentences of 20–60 characters, one per line;
- ``passages.txt``: three passages of consecutive prose, each about 1,000 characters, already wrapped at word
  boundaries into lines of at most 60 characters (the way ``quill write`` wraps, so quill keeps these lines as
  they are), separated by a line holding only ``---``.

Everything is drawn with ``random.Random(SEED)``, SEED = 1887 (the year of A Study in Scarlet), so running this
script again on the same book gives the same files byte for byte.

How the texts are chosen:

- The book is split into paragraphs at blank lines; each paragraph's lines are joined with single spaces. Only
  prose paragraphs (at least 200 characters) are drawn from, which drops titles, tables of contents and chapter
  headings. The licence notes after the last story (from the ``----------`` line on) are dropped.
- Sentences: each prose paragraph is split after ``.``, ``!`` or ``?`` (and any closing quote) followed by a
  space, except after a title such as ``Mr.``, an initial or ``No.`` before a number. A sentence is kept when it is 20–60 characters long, uses only
  characters of the synthesis model's alphabet (below), has balanced double quotes, starts with a capital
  letter (or a quote and a capital), ends with sentence-final punctuation, neither starts nor ends with a single
  quote (one opened or closed in another sentence) and does not run two sentences together with ``--``.
- Passages: a random prose paragraph is picked and text is taken from its start, whole sentences at a time,
  running on into the following paragraphs (short ones included, so the text is consecutive), for as long as the text stays under 990 characters including the
  line breaks of its wrapping (``quill write`` refuses more than ``--max-chars``, 1000 by default). A passage is
  kept when it reaches at least 900 characters and every character is in the alphabet; otherwise another
  paragraph is drawn. Passages do not overlap.

The model's alphabet is space ! " # % ' ( ) , - . 0-9 : ; ? A-Z without X and Z, a-z.
"""

import argparse
import os
import random
import re
import string

SEED = 1887
N_SENTENCES = 36
N_PASSAGES = 3
MIN_LEN, MAX_LEN = 20, 60
PASSAGE_MIN, PASSAGE_MAX = 900, 990
WRAP = 60

# The synthesis model's alphabet (capital X and Z are missing from IAM-OnDB's training text often enough to be
# dropped by the frequency rule).
ALPHABET = set(" !\"#%'(),-.:;?") | set(string.digits) | (set(string.ascii_uppercase) - {"X", "Z"}) \
    | set(string.ascii_lowercase)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Split after . ! ? (and any closing quotes) followed by whitespace.
SENTENCE_END = re.compile(r'(?<=[.!?])(?:["\']*)\s+')
# Abbreviations whose full stop does not end a sentence.
TITLES = ("Mr.", "Mrs.", "Dr.", "St.", "Messrs.", "Col.", "Capt.", "Prof.", "Rev.", "Mme.", "Mlle.")


def paragraphs(book):
    """All paragraphs of the book, each on one line with single spaces."""
    cut = book.find("\n     ----------\n")
    if cut >= 0:
        book = book[:cut]
    out = []
    for block in re.split(r"\n\s*\n", book):
        text = " ".join(block.split())
        if text:
            out.append(text)
    return out


def split_sentences(par):
    """Splits a paragraph into sentences (keeping closing quotes with the sentence they close)."""
    pieces, start = [], 0
    for m in re.finditer(r'[.!?]["\']*(?=\s)', par):
        end = m.end()
        words = par[start:end].split()
        if words and (words[-1].lstrip('"\'') in TITLES or re.match(r'^["\']*[A-Z]\.$', words[-1])):
            continue
        if words and words[-1] == "No." and re.match(r"\s+\d", par[end:]):  # "No. 3, Lauriston Gardens"
            continue
        pieces.append(par[start:end].strip())
        start = end
    tail = par[start:].strip()
    if tail:
        pieces.append(tail)
    return [p for p in pieces if p]


def good_sentence(s):
    return (MIN_LEN <= len(s) <= MAX_LEN
            and set(s) <= ALPHABET
            and s.count('"') % 2 == 0
            and not s.startswith("'") and not s.endswith("'")  # a single quote opened or closed elsewhere
            and re.search(r'[.!?]--', s) is None  # two sentences run together with a dash
            and re.match(r'^"?[A-Z]', s) is not None
            and re.search(r'[.!?]["\']?$', s) is not None
            and not s.isupper()
            and s.split()[-1].rstrip('"') not in TITLES
            and re.match(r'^[A-Z]\.$', s.split()[-1]) is None)  # an initial ("... that M.") ends no sentence


def wrap(text, width=WRAP):
    """Greedy word wrap, the same rule as `quill write --wrap`."""
    lines, line = [], ""
    for word in text.split(" "):
        if not word:
            continue
        if not line:
            line = word
        elif len(line) + 1 + len(word) <= width:
            line += " " + word
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def draw_passages(pars, prose, rng, count):
    """`count` passages by the rule above, each a list of wrapped lines, in book order: whole sentences from the
    start of a random prose paragraph (an index in `prose`) onward, through every following paragraph (short
    ones too, so the text is consecutive)."""
    passages, used = [], set()
    while len(passages) < count:
        i = prose[rng.randrange(len(prose))]
        if any(abs(i - j) < 10 for j in used):
            continue
        text = ""
        for p in pars[i:i + 20]:
            for s in split_sentences(p):
                trial = (text + " " + s).strip()
                if len("\n".join(wrap(trial))) > PASSAGE_MAX:
                    break
                text = trial
            else:
                continue
            break
        if len("\n".join(wrap(text))) >= PASSAGE_MIN and set(text) <= ALPHABET:
            used.add(i)
            passages.append((i, wrap(text)))
    return [lines for _, lines in sorted(passages)]  # in book order


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--book", default=os.path.join(ROOT, "..", "shared", "datasets", "sherlock_holmes", "input.txt"))
    ap.add_argument("--out", default=HERE)
    args = ap.parse_args()
    with open(args.book, encoding="utf-8") as f:
        book = f.read()
    pars = paragraphs(book)
    prose = [i for i, p in enumerate(pars) if len(p) >= 200]
    rng = random.Random(SEED)

    # Sentences: every eligible sentence in book order (first occurrence only), then a seeded sample kept in
    # book order.
    candidates, seen = [], set()
    for i in prose:
        for s in split_sentences(pars[i]):
            if good_sentence(s) and s not in seen:
                seen.add(s)
                candidates.append(s)
    picked = sorted(rng.sample(range(len(candidates)), N_SENTENCES))
    sentences = [candidates[i] for i in picked]

    passages = draw_passages(pars, prose, rng, N_PASSAGES)

    with open(os.path.join(args.out, "sentences.txt"), "w", encoding="utf-8") as f:
        f.write("".join(s + "\n" for s in sentences))
    with open(os.path.join(args.out, "passages.txt"), "w", encoding="utf-8") as f:
        f.write("---\n".join("".join(l + "\n" for l in lines) for lines in passages))
    print(f"{len(candidates)} eligible sentences; wrote {len(sentences)} sentences and {len(passages)} passages "
          f"({', '.join(str(len(chr(10).join(p))) for p in passages)} characters) to {args.out}")


if __name__ == "__main__":
    main()
