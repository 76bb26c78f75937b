#!/usr/bin/env python3
"""Quill's legibility benchmark: how well an off-the-shelf OCR engine reads Quill's handwriting.

    make legibility                                   # builds quill (release), then runs this script
    make legibility LEGIBILITY_ARGS="--biases 1 --no-styles --no-pages --lists digits,capitals,symbols"
    python3 Tools/legibility/legibility.py --quill .build/release/quill [options]

A measuring stick, not a test: it is not run by CI, and Quill itself does not depend on tesseract. The script
installs the ``tesseract-ocr`` package with apt-get when ``tesseract`` is missing and it runs as root (otherwise it
says what to install). It uses Python 3's standard library only.

What it measures
----------------
Quill writes known text as handwriting (PNG); tesseract 5 (LSTM engine, English model) reads it back; the OCR
text is compared with the text Quill was asked to write.

- Sentences (``sentences.txt``: 36 sentences of 20-60 characters from The Complete Sherlock Holmes, drawn with a
  fixed seed by ``make_sentences.py``). Each is written on its own with

      quill write SENTENCE -o FILE.png --bias B --seed i --line-height 60 --pen-width 2 [--style NAME]

  where sentence i (counting from 1) always uses seed i, and read with ``tesseract FILE.png - --psm 7`` (one text
  line). This is done at every bias in ``--biases`` (0.5, 1, 2), with Quill's default (unprimed) handwriting and
  again with each style the model ships (``quill write --list-styles``).
- Pages (``passages.txt``: three passages of about 1,000 characters of consecutive prose, stored wrapped into
  lines of at most 60 characters). Each passage is written with seeds 1, 2 and 3 at each bias, same options,
  with the text passed through ``quill write --input FILE`` (or as the positional TEXT argument with quills that
  have no ``--input``, or with ``--text-arg``), and read with ``--psm 6`` (a block of text).

- Lists (``--lists digits,capitals,symbols``, none by default): issue 11's three lists of 24 hand-written sentences
  of 20-60 ASCII characters each (letters, digits, space and . , ; : ! ? ' " - ( ) / & + @ = # % [ ]), committed
  before anything was measured with them. ``digits.txt``: dates, prices, times, phone-like numbers and quantities;
  ``capitals.txt``: names, all-caps words, and X and Z (10 of the 24 sentences have a capital X or Z);
  ``symbols.txt``: each of those 20 symbols in three or more sentences. Sentence i of each list is written with
  seed i at every bias in ``--biases``, with the same options as the sentences and Quill's default (unprimed)
  handwriting (no ``--style``), and read with ``--psm 7``. ``--lists-only`` measures the lists alone (no
  sentences, styles or pages).

Figures, per bias (and per style for the sentences):

- CER, the character error rate: Levenshtein distance (insertions, deletions, substitutions each cost 1)
  between OCR text and reference divided by the reference's length, both normalised first: typographic quotes
  and dashes in the OCR text become ASCII (" ' -), everything is lower-cased, runs of whitespace (line breaks
  included) become one space, the space before . , ; : ! ? ' is removed, and the ends are trimmed. It can exceed
  1 when the OCR output is much longer than the reference. The table gives the mean over sentences or pages.
- Last word right: the share of sentences whose last OCR word equals the sentence's last word, both lower-cased
  and reduced to their letters and digits (words are split at whitespace; words with no letter or digit are
  skipped). It checks that Quill writes a line to its end rather than stopping early or trailing off.

For each list: the mean CER (as above; it is case-insensitive, so a capital written or read as a small letter is
not an error), the mean CER of the sentences quill wrote (leaving out those it refused), and:

- Digit CER (digits list only): per sentence, the Levenshtein distance between the reference's digits and the OCR
  text's digits (0-9, each string reduced to its digits in order) divided by the reference's digit count (every
  sentence of the list has digits); the table gives the mean over sentences. A refused sentence counts 1.0. The
  JSON also gives it (and the pooled figure: all digit edits over all reference digits) for every list with digits.
- Refused: the number of the list's sentences quill refused (exited non-zero, e.g. characters outside the model's
  alphabet), and the characters it named as missing (from its error "the model's alphabet lacks 'X', 'Z'; ..."),
  each with the number of sentences that named it. A refused sentence counts as CER 1.0.

Tesseract reads handwritten symbols imperfectly (a quote or a bracket is often dropped or read as another mark);
the lists' figures include its misreadings as they are.

When ``quill write`` fails (exits non-zero), that item counts as CER 1.0 and last word wrong, and the table says
how many items failed; the JSON keeps quill's error output.

The OCR reads Quill's PNG as written (one pixel per point, 20-point white margin): at ``--line-height 60`` a
line's ink (ascenders to descenders) is at most 60 pixels tall, an x-height of roughly 15-20 pixels, which
tesseract reads well. ``--ocr-scale K`` upscales the image K times (nearest neighbour) and pads it with a white
border before the OCR; the default, 1, leaves the image alone. Measured on the build before --input (first 16
sentences, bias 1 and 2, all styles), bigger writing read worse, not better: default-style CER at bias 1 was
0.170 as written, 0.226 upscaled x2, 0.192 x3; rendering at --line-height 40 gave 0.151 and at 90 gave 0.200.
Line height 60 is kept as the stated setting. Tesseract's readings are deterministic: a second run gives the
same text for every image.

Things the figures include that are not the handwriting's fault: tesseract often reads a handwritten capital I
as "|" (counted as an error), and styled lines start with a short stroke that it reads as "-" (that one is
Quill's: the styles' handwriting begins with a dash-like mark).

Broken lines (``--broken-lines``, off by default; slow)
-------------------------------------------------------
The three passages x seeds 1-10 (30 pages) at bias 1, default handwriting. Per page it reports:

- resampled: the number of lines quill says it resampled (lines of quill's standard error containing the word
  "resampled"; 0 when there are none) and capped: lines quill says reached the step cap;
- an independent check. The page PNG is decoded (a small pure-Python PNG reader below) and split into ink bands
  by its horizontal projection profile: rows with no dark pixel (grey < 192) separate bands, and bands closer
  than 6 pixels are merged (an i-dot above a line without ascenders). Quill's page gives each text line a slot
  60 points tall with 16 points between slots and scales every line by the same factor, so the tallest line
  fills its slot; a line whose ink runs away makes every other line small. A line is flagged when
  (a) its OCR CER (``--psm 7`` on that line's crop, written back as a greyscale PNG) exceeds 0.3, or
  (b) its ink band is taller than 1.6 x the page's median band height.
  When the number of bands differs from the number of text lines the page is flagged "bands != lines" and the
  lines are cropped from their layout slots instead (computed from the page height, see ``slot_rows``), with
  the ink height measured inside each slot.

Options: see ``--help``. ``--json OUT`` saves every figure and every OCR reading.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shlex
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))

# Fixed rendering options, stated in the output and saved in the JSON.
LINE_HEIGHT = 60  # points; PNGs are written at one pixel per point
PEN_WIDTH = 2
PAGE_SEEDS = (1, 2, 3)
BROKEN_SEEDS = tuple(range(1, 11))
BROKEN_BIAS = 1.0
# Quill's page layout (Sources/QuillRender/Strokes.swift, PageOptions): slot gap and margin in points; the
# margin grows by half the pen width.
LINE_GAP = 16
MARGIN = 20
# Broken-line check thresholds.
LINE_CER_LIMIT = 0.3
INK_HEIGHT_LIMIT = 1.6
DARK = 192  # a pixel is ink when its grey level (0 black, 255 white) is below this
BAND_MERGE = 6  # ink bands closer than this many pixels belong to one line


# --------------------------------------------------------------------------------------------------------------
# Text normalisation and the figures

OCR_ASCII = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'", "‚": "'",
                           "`": "'", "—": "-", "–": "-", "−": "-", "\f": " "})


def normalise(text):
    """Lower-case, ASCII quotes and dashes, one space for any run of whitespace, no space before . , ; : ! ? '"""
    t = text.translate(OCR_ASCII).lower()
    t = " ".join(t.split())
    t = re.sub(r" (?=[.,;:!?'])", "", t)
    return t


def levenshtein(a, b):
    """Edit distance with unit costs (two rows of the dynamic programme)."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def cer(ocr, reference):
    ref = normalise(reference)
    return levenshtein(normalise(ocr), ref) / max(1, len(ref))


def last_word(text):
    """The last whitespace-separated word that has a letter or digit, lower-cased, letters and digits only."""
    for w in reversed(text.split()):
        w = "".join(c for c in w.lower() if c.isalnum())
        if w:
            return w
    return ""


def last_word_right(ocr, reference):
    ref = last_word(reference)
    return bool(ref) and last_word(ocr.translate(OCR_ASCII)) == ref


def digits_of(text):
    return "".join(c for c in text if c in "0123456789")


def digit_cer(ocr, reference):
    """Levenshtein distance over the digits alone (reference's vs OCR's, in order) / the reference's digit count;
    None when the reference has no digit."""
    ref = digits_of(reference)
    return levenshtein(digits_of(ocr), ref) / len(ref) if ref else None


def refused_characters(stderr):
    """The characters quill names in "the model's alphabet lacks 'X', 'Z', '&'; rephrase ..." (in its order)."""
    m = re.search(r"alphabet lacks (.*?); rephrase", stderr, flags=re.S)
    return re.findall(r"'(.)'", m.group(1), flags=re.S) if m else []


# --------------------------------------------------------------------------------------------------------------
# PNG: a minimal reader (8-bit greyscale, grey+alpha, RGB, RGBA, palette; filters 0-4; no interlace) and a
# greyscale writer. Pixels come back as grey levels, alpha composited over white.

def read_png_grey(path):
    """Returns (width, height, rows), rows a list of bytearrays of grey levels (0 black ... 255 white)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, palette, trns = 8, [], None, None
    width = height = depth = ctype = interlace = None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = body
        elif kind == b"tRNS":
            trns = body
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if depth != 8 or interlace != 0 or ctype not in (0, 2, 3, 4, 6):
        raise ValueError(f"{path}: unsupported PNG (bit depth {depth}, colour type {ctype}, interlace {interlace})")
    bpp = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    stride = width * bpp
    raw = zlib.decompress(b"".join(idat))
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if ftype == 1:  # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ftype == 2:  # Up
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev))
        elif ftype == 3:  # Average
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:  # Paeth
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if (pa <= pb and pa <= pc) else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        elif ftype != 0:
            raise ValueError(f"{path}: bad filter type {ftype} in row {y}")
        rows.append(line)
        prev = line
    return width, height, [_to_grey(r, ctype, palette, trns) for r in rows]


def _to_grey(line, ctype, palette, trns):
    if ctype == 0:
        return line
    if ctype == 3:
        alpha = trns or b""
        out = bytearray(len(line))
        for i, k in enumerate(line):
            r, g, b = palette[3 * k:3 * k + 3]
            a = alpha[k] if k < len(alpha) else 255
            out[i] = _over_white((r * 299 + g * 587 + b * 114) // 1000, a)
        return out
    if ctype == 4:
        return bytearray(_over_white(v, a) for v, a in zip(line[0::2], line[1::2]))
    if ctype == 2:
        return bytearray((r * 299 + g * 587 + b * 114) // 1000 for r, g, b in zip(line[0::3], line[1::3], line[2::3]))
    # RGBA: Cairo's PNGs (Quill's) are opaque; composite over white in case they are not.
    return bytearray(_over_white((r * 299 + g * 587 + b * 114) // 1000, a)
                     for r, g, b, a in zip(line[0::4], line[1::4], line[2::4], line[3::4]))


def _over_white(v, a):
    return (v * a + 255 * (255 - a)) // 255


def write_png_grey(path, width, rows):
    """Writes 8-bit greyscale rows (filter 0 on every row)."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes(r) for r in rows)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, len(rows), 8, 0, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 6)))
        f.write(chunk(b"IEND", b""))


def scale_and_pad(width, rows, scale, pad):
    """Nearest-neighbour upscale by an integer factor, then a white border of `pad` pixels."""
    out_w = width * scale + 2 * pad
    blank = bytearray(b"\xff" * out_w)
    out = [bytearray(blank) for _ in range(pad)]
    for r in rows:
        big = bytearray(width * scale)
        for k in range(scale):
            big[k::scale] = r
        line = bytearray(b"\xff" * pad) + big + bytearray(b"\xff" * pad)
        out.extend(bytearray(line) for _ in range(scale))
    out.extend(bytearray(blank) for _ in range(pad))
    return out_w, out


# --------------------------------------------------------------------------------------------------------------
# Running quill and tesseract

class Runner:
    def __init__(self, args, workdir):
        self.quill = args.quill
        self.model = args.model
        self.workdir = workdir
        self.ocr_scale = args.ocr_scale
        self.ocr_pad = args.ocr_pad
        self.env_ocr = dict(os.environ, OMP_THREAD_LIMIT="1")  # one thread per tesseract; --jobs runs several
        help_text = self.quill_out(["write", "--help"])
        self.has_input = "--input" in help_text and not args.text_arg
        # PNGs at one pixel per point, as the benchmark has always read them (quill's default became 150 dpi).
        self.fixed_dpi = ["--dpi", "72"] if "--dpi" in help_text else []
        # Callers other than this script's main (choose_styles.py) may leave these out.
        self.seed_offset = getattr(args, "seed_offset", 0)
        self.write_args = shlex.split(getattr(args, "write_args", ""))
        self.counter = 0
        self.lock = threading.Lock()

    def quill_out(self, argv):
        p = subprocess.run([self.quill] + argv, capture_output=True, text=True)
        return p.stdout + p.stderr

    def styles(self):
        cmd = ["write", "--list-styles", "x", "-o", os.path.join(self.workdir, "styles.png")]
        if self.model:
            cmd += ["--model", self.model]
        p = subprocess.run([self.quill] + cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"legibility: `quill write --list-styles` failed:\n{p.stderr}")
        names = [l.strip() for l in p.stdout.splitlines() if l.strip()]
        return [] if len(names) == 1 and "has no styles" in names[0] else names

    def name(self, stem):
        with self.lock:
            self.counter += 1
            return os.path.join(self.workdir, f"{self.counter:04d}-{stem}")

    def write(self, text, png, bias, seed, style=None, page=False):
        """Runs quill write; returns (command line, return code, stderr)."""
        cmd = [self.quill, "write"]
        if page and self.has_input:
            path = png[:-4] + ".txt"
            with open(path, "w", encoding="utf-8") as f:
                f.write(text + "\n")
            cmd += ["--input", path]
        else:
            cmd += [text]
        cmd += ["-o", png, "--bias", f"{bias:g}", "--seed", str(seed + self.seed_offset),
                "--line-height", str(LINE_HEIGHT), "--pen-width", str(PEN_WIDTH)] + self.fixed_dpi + self.write_args
        if page:
            cmd += ["--max-chars", "2000"]
        if style:
            cmd += ["--style", style]
        if self.model:
            cmd += ["--model", self.model]
        p = subprocess.run(cmd, capture_output=True, text=True)
        return cmd, p.returncode, p.stderr

    def ocr(self, png, psm, prepared=False):
        """tesseract on a PNG (upscaled and padded first when --ocr-scale > 1, unless `prepared`)."""
        src = png
        if not prepared and self.ocr_scale > 1:
            w, _, rows = read_png_grey(png)
            w2, rows2 = scale_and_pad(w, rows, self.ocr_scale, self.ocr_pad)
            src = png[:-4] + "-ocr.png"
            write_png_grey(src, w2, rows2)
        p = subprocess.run(["tesseract", src, "stdout", "-l", "eng", "--psm", str(psm)], capture_output=True,
                           text=True, env=self.env_ocr)
        if p.returncode != 0:
            raise RuntimeError(f"tesseract failed on {src}: {p.stderr.strip()}")
        return p.stdout.strip()


def item(runner, kind, text, bias, seed, style=None, list_name=None):
    """Writes `text` and reads it back; returns the item's record. Items of a list (kind "list") name it."""
    page = kind == "page"
    stem = list_name or kind
    png = runner.name(f"{stem}-b{bias:g}-s{seed}{'-' + style if style else ''}.png")
    cmd, rc, err = runner.write(text, png, bias, seed, style, page=page)
    rec = {"kind": kind, "bias": bias, "seed": seed, "style": style, "reference": text, "png": os.path.basename(png),
           "quill_rc": rc, "quill_stderr": err.strip()}
    if list_name:
        rec["list"] = list_name
    if rc != 0:
        rec.update(ocr=None, cer=1.0, last_word_right=False, failed=True)
        if list_name:
            rec.update(digit_cer=1.0 if digits_of(text) else None, refused=refused_characters(err))
        return rec
    ocr = runner.ocr(png, 6 if page else 7)
    rec.update(ocr=ocr, cer=cer(ocr, text), last_word_right=last_word_right(ocr, text), failed=False)
    if list_name:
        rec.update(digit_cer=digit_cer(ocr, text), refused=[])
    return rec


# --------------------------------------------------------------------------------------------------------------
# Broken lines

def ink_bands(rows):
    """[top, bottom) row ranges of the ink bands of a page, from its horizontal projection profile."""
    inked = [min(r) < DARK for r in rows]
    bands, start = [], None
    for y, on in enumerate(inked + [False]):
        if on and start is None:
            start = y
        elif not on and start is not None:
            if bands and start - bands[-1][1] < BAND_MERGE:
                bands[-1] = (bands[-1][0], y)
            else:
                bands.append((start, y))
            start = None
    return bands


def slot_rows(height, n):
    """The [top, bottom) rows of the n line slots of a quill page, from the layout rule
    height = 2 (margin + pen/2) + n line_height + (n - 1) gap; equal slices when the height does not fit it."""
    top_margin = MARGIN + PEN_WIDTH / 2
    if abs(2 * top_margin + n * LINE_HEIGHT + (n - 1) * LINE_GAP - height) <= 2:
        return [(int(top_margin + i * (LINE_HEIGHT + LINE_GAP)),
                 int(round(top_margin + i * (LINE_HEIGHT + LINE_GAP) + LINE_HEIGHT))) for i in range(n)]
    return [(height * i // n, height * (i + 1) // n) for i in range(n)]


def ink_extent(rows, top, bottom):
    ys = [y for y in range(top, bottom) if min(rows[y]) < DARK]
    return (ys[0], ys[-1] + 1) if ys else (top, top)


def broken_page(runner, passage, index, seed):
    """One page of the broken-lines check."""
    lines = passage.split("\n")
    text = "\n".join(lines)
    png = runner.name(f"broken-p{index}-s{seed}.png")
    cmd, rc, err = runner.write(text, png, BROKEN_BIAS, seed, page=True)
    rec = {"passage": index, "seed": seed, "bias": BROKEN_BIAS, "lines": len(lines), "png": os.path.basename(png),
           "quill_rc": rc, "quill_stderr": err.strip(),
           "resampled": sum("resampled" in l for l in err.splitlines()),
           "capped": sum("step cap" in l for l in err.splitlines())}
    if rc != 0:
        rec.update(failed=True, flagged=len(lines), flags=["quill failed"])
        return rec
    width, height, rows = read_png_grey(png)
    bands = ink_bands(rows)
    rec["bands"] = len(bands)
    flags = []
    if len(bands) == len(lines):
        crops = bands
        extents = bands
    else:
        flags.append(f"bands != lines ({len(bands)} ink bands for {len(lines)} lines)")
        crops = slot_rows(height, len(lines))
        extents = [ink_extent(rows, t, b) for t, b in crops]
    heights = [b - t for t, b in extents]
    median = statistics.median(heights) if heights else 0
    per_line = []
    for i, (ref, (top, bottom), h) in enumerate(zip(lines, crops, heights)):
        # The crop keeps a few pixels of white above and below; scale_and_pad adds the border tesseract likes.
        t, b = max(0, top - 4), min(height, bottom + 4)
        w2, crop = scale_and_pad(width, rows[t:b], runner.ocr_scale, max(runner.ocr_pad, 10))
        crop_png = png[:-4] + f"-line{i + 1:02d}.png"
        write_png_grey(crop_png, w2, crop)
        ocr = runner.ocr(crop_png, 7, prepared=True)
        c = cer(ocr, ref)
        ratio = h / median if median else 0.0
        why = []
        if c > LINE_CER_LIMIT:
            why.append(f"CER {c:.2f}")
        if ratio > INK_HEIGHT_LIMIT:
            why.append(f"ink {ratio:.2f}x median height")
        per_line.append({"line": i + 1, "reference": ref, "ocr": ocr, "cer": c, "ink_height": h,
                         "ink_ratio": ratio, "flags": why})
        if why:
            flags.append(f"line {i + 1}: " + ", ".join(why))
    rec.update(failed=False, per_line=per_line, flags=flags, median_ink_height=median,
               flagged_cer=sum(any(w.startswith("CER") for w in l["flags"]) for l in per_line),
               flagged_ink=sum(any(w.startswith("ink") for w in l["flags"]) for l in per_line),
               flagged=sum(bool(l["flags"]) for l in per_line),
               page_cer=statistics.mean(l["cer"] for l in per_line))
    return rec


# --------------------------------------------------------------------------------------------------------------
# Set-up, the run, the table

def ensure_tesseract():
    if shutil.which("tesseract"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("legibility: installing tesseract-ocr with apt-get", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "tesseract-ocr"], env=env, check=True)
    if not shutil.which("tesseract"):
        raise SystemExit("legibility: tesseract is missing; install it (Debian/Ubuntu: sudo apt-get install -y "
                         "tesseract-ocr) and run again")


def read_texts(args):
    with open(os.path.join(HERE, "sentences.txt"), encoding="utf-8") as f:
        sentences = [l.rstrip("\n") for l in f if l.strip()]
    if args.sentences is not None:
        sentences = sentences[:args.sentences]
    with open(os.path.join(HERE, "passages.txt"), encoding="utf-8") as f:
        passages = [p.strip("\n") for p in re.split(r"^---$", f.read(), flags=re.M) if p.strip()]
    return sentences, passages


LISTS = ("digits", "capitals", "symbols")


def read_lists(spec):
    """{name: sentences} for the comma-separated list names in `spec` (each Tools/legibility/NAME.txt)."""
    names = [n.strip() for n in (spec or "").split(",") if n.strip()]
    unknown = [n for n in names if n not in LISTS]
    if unknown:
        raise SystemExit(f"legibility: unknown list {', '.join(unknown)} (--lists takes {', '.join(LISTS)})")
    lists = {}
    for n in dict.fromkeys(names):
        with open(os.path.join(HERE, f"{n}.txt"), encoding="utf-8") as f:
            lists[n] = [l.rstrip("\n") for l in f if l.strip()]
    return lists


def summarise_list(recs):
    """A list's figures: mean CER (refused = 1.0), mean CER of the written ones, digit CER, refusals."""
    s = summarise(recs)
    written = [r for r in recs if not r["failed"]]
    s["mean_cer_written"] = statistics.mean(r["cer"] for r in written) if written else None
    dc = [r["digit_cer"] for r in recs if r.get("digit_cer") is not None]
    s["mean_digit_cer"] = statistics.mean(dc) if dc else None
    # Pooled: all digit edits over all reference digits (refused sentences count every digit wrong).
    ref_digits = sum(len(digits_of(r["reference"])) for r in recs)
    s["pooled_digit_cer"] = (sum(r["digit_cer"] * len(digits_of(r["reference"])) for r in recs
                                 if r.get("digit_cer") is not None) / ref_digits) if ref_digits else None
    refused = {}
    for r in recs:
        for c in dict.fromkeys(r.get("refused") or []):
            refused[c] = refused.get(c, 0) + 1
    s["refused"] = s["failed"]
    s["refused_characters"] = refused
    return s


def summarise(recs):
    n = len(recs)
    return {"n": n, "mean_cer": statistics.mean(r["cer"] for r in recs) if n else None,
            "last_word_right": sum(r["last_word_right"] for r in recs) / n if n else None,
            "failed": sum(r["failed"] for r in recs)}


def last_line(text):
    """The last non-empty line of a process's error output (where quill says why it failed), shortened."""
    lines = [l for l in text.splitlines() if l.strip()]
    return lines[-1][:300] if lines else "(no message)"


def fmt(x, pct=False):
    if x is None:
        return "-"
    return f"{100 * x:.0f}%" if pct else f"{x:.3f}"


def main():
    ap = argparse.ArgumentParser(description="Quill's legibility benchmark: OCR (tesseract) reads quill's "
                                 "handwriting back; prints CER and last-word accuracy. What it measures and how: the header of "
                                 "Tools/legibility/legibility.py.")
    ap.add_argument("--quill", default=".build/release/quill", help="the quill binary (default %(default)s)")
    ap.add_argument("--model", help="synthesis model directory, passed to quill write as --model")
    ap.add_argument("--biases", default="0.5,1,2", help="comma-separated sampling biases (default %(default)s)")
    ap.add_argument("--sentences", type=int, metavar="N", help="use only the first N sentences")
    ap.add_argument("--styles", dest="styles", action="store_true", default=True,
                    help="also measure each style the model ships (default)")
    ap.add_argument("--no-styles", dest="styles", action="store_false")
    ap.add_argument("--pages", dest="pages", action="store_true", default=True,
                    help="measure the page CER on the three passages, seeds 1-3 (default)")
    ap.add_argument("--no-pages", dest="pages", action="store_false")
    ap.add_argument("--lists", metavar="NAMES", default="",
                    help="also measure these of issue 11's lists, comma-separated: digits,capitals,symbols "
                    "(default: none)")
    ap.add_argument("--lists-only", action="store_true",
                    help="measure only the --lists (no sentences, styles or pages)")
    ap.add_argument("--broken-lines", action="store_true",
                    help="also run the broken-lines check: 3 passages x seeds 1-10 at bias 1 (slow)")
    ap.add_argument("--jobs", type=int, default=2, help="parallel quill/tesseract processes (default %(default)s)")
    ap.add_argument("--keep", metavar="DIR", help="keep the images (and line crops) in DIR")
    ap.add_argument("--json", metavar="OUT", help="save every figure and OCR reading as JSON")
    ap.add_argument("--ocr-scale", type=int, default=1,
                    help="upscale PNGs this many times (nearest neighbour) before the OCR (default %(default)s)")
    ap.add_argument("--ocr-pad", type=int, default=20, help="white border added when upscaling (pixels)")
    ap.add_argument("--seed-offset", type=int, default=0, metavar="N",
                    help="add N to every seed (sentence i then uses seed i + N): other seed sets of the same "
                    "benchmark, to see how much its figures move with the seeds (default 0)")
    ap.add_argument("--write-args", default="", metavar="ARGS",
                    help="more options for every quill write, one string (e.g. \"--candidates 4\")")
    ap.add_argument("--text-arg", action="store_true",
                    help="pass page text as quill's positional TEXT argument instead of --input (automatic for "
                    "quills without --input)")
    args = ap.parse_args()

    if not (os.path.isfile(args.quill) and os.access(args.quill, os.X_OK)):
        raise SystemExit(f"legibility: no quill binary at {args.quill} (build with `make release`, or pass --quill)")
    ensure_tesseract()
    biases = [float(b) for b in args.biases.split(",") if b.strip()]
    sentences, passages = read_texts(args)
    lists = read_lists(args.lists)
    if args.lists_only:
        if not lists:
            raise SystemExit("legibility: --lists-only needs --lists (e.g. --lists digits,capitals,symbols)")
        sentences, args.styles, args.pages = [], False, False
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        workdir = args.keep
    else:
        workdir = tempfile.mkdtemp(prefix="quill-legibility-")
    started = time.time()
    runner = Runner(args, workdir)
    # A style named "default" is what `quill write` uses without --style: the first column already measures it.
    styles = [s for s in runner.styles() if s != "default"] if args.styles else []
    tess_version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    quill_version = runner.quill_out(["--version"]).strip()

    setup = (f"quill: {args.quill} (version {quill_version}); model: "
             f"{args.model or os.environ.get('QUILL_MODEL_DIR') or 'bundled (default)'}\n"
             f"OCR: {tess_version}, LSTM engine, -l eng; sentences --psm 7, pages --psm 6; "
             f"{'upscaled x' + str(args.ocr_scale) + ' with a ' + str(args.ocr_pad) + ' px border' if args.ocr_scale > 1 else 'PNG read as written (no upscaling)'}\n"
             f"quill write TEXT -o FILE.png --bias B --seed S --line-height {LINE_HEIGHT} --pen-width {PEN_WIDTH} "
             f"[--style NAME]{' ' + args.write_args if args.write_args else ''}\n"
             f"sentences: {len(sentences)} (sentence i uses seed i{f' + {args.seed_offset}' if args.seed_offset else ''}); styles: {', '.join(styles) or 'none'}; "
             f"pages: {len(passages) if args.pages else 0} passages x seeds {','.join(map(str, PAGE_SEEDS))} via "
             f"{'--input FILE' if runner.has_input else 'the positional TEXT argument'}\n"
             f"lists: {', '.join(f'{n} ({len(v)})' for n, v in lists.items()) or 'none'} (sentence i uses seed i, "
             f"no --style, --psm 7)\n"
             f"CER: Levenshtein / reference length after lower-casing, collapsing whitespace and removing the "
             f"space before . , ; : ! ? '")
    print(setup, flush=True)

    tasks = []
    for b in biases:
        for st in [None] + styles:
            for i, s in enumerate(sentences, 1):
                tasks.append(("sentence", s, b, i, st))
        for name, items in lists.items():
            for i, s in enumerate(items, 1):
                tasks.append(("list", s, b, i, None, name))
        if args.pages:
            for p in passages:
                for seed in PAGE_SEEDS:
                    tasks.append(("page", p, b, seed, None))
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(item, runner, *t) for t in tasks]
        recs, done = [], 0
        for f in futures:
            recs.append(f.result())
            done += 1
            if done % 50 == 0 or done == len(futures):
                print(f"  {done}/{len(futures)} images ({time.time() - started:.0f} s)", file=sys.stderr, flush=True)
        broken = []
        if args.broken_lines:
            bf = [pool.submit(broken_page, runner, p, k, seed) for k, p in enumerate(passages, 1)
                  for seed in BROKEN_SEEDS]
            broken = [f.result() for f in bf]

    # The table.
    rows, summary = [], {}
    for b in biases:
        key = f"{b:g}"
        summary[key] = {}
        for st in [None] + styles:
            s = summarise([r for r in recs if r["kind"] == "sentence" and r["bias"] == b and r["style"] == st])
            summary[key][st or "no --style"] = s
        if args.pages:
            summary[key]["pages"] = summarise([r for r in recs if r["kind"] == "page" and r["bias"] == b])
    cols = ["no --style"] + styles
    head = f"{'bias':>5} | " + " | ".join(f"{c:^16}" for c in cols) + (" | page CER" if args.pages else "")
    sub = f"{'':>5} | " + " | ".join(f"{'CER':>7} {'last':>8}" for _ in cols) + (" | " if args.pages else "")
    if sentences or args.pages:
        print()
        print(f"Sentences: mean CER and share with the last word right (n = {len(sentences)} per cell); pages: mean CER "
              f"over {len(passages)} passages x {len(PAGE_SEEDS)} seeds")
        print(head)
        print(sub)
        print("-" * len(head))
        for b in biases:
            key = f"{b:g}"
            cells = [f"{fmt(summary[key][c]['mean_cer']):>7} {fmt(summary[key][c]['last_word_right'], True):>8}"
                     for c in cols]
            line = f"{key:>5} | " + " | ".join(cells)
            if args.pages:
                line += f" | {fmt(summary[key]['pages']['mean_cer'])}"
            print(line)
    list_summary = {}
    if lists:
        for b in biases:
            list_summary[f"{b:g}"] = {n: summarise_list([r for r in recs if r["kind"] == "list" and r["bias"] == b
                                                         and r["list"] == n]) for n in lists}
        print(f"\nLists (default handwriting, sentence i with seed i, --psm 7): mean CER (refused = 1.0), mean CER "
              f"of the sentences written, digit CER (digits list: Levenshtein over the digits alone / reference "
              f"digits, mean), sentences refused and the characters quill named")
        head = (f"{'bias':>5} | {'list':<9} | {'n':>3} | {'CER':>6} | {'written':>7} | {'digit CER':>9} | "
                f"{'refused':>8} | refused characters (sentences)")
        print(head)
        print("-" * len(head))
        for b in biases:
            key = f"{b:g}"
            for n in lists:
                s = list_summary[key][n]
                chars = ", ".join(f"{c} ({k})" for c, k in s["refused_characters"].items())
                print(f"{key:>5} | {n:<9} | {s['n']:>3} | {fmt(s['mean_cer']):>6} | {fmt(s['mean_cer_written']):>7} | "
                      f"{fmt(s['mean_digit_cer']) if n == 'digits' else '':>9} | "
                      f"{str(s['refused']) + ' of ' + str(s['n']):>8} | {chars or '-'}")
    failed = [r for r in recs if r["failed"] and r["kind"] != "list"]
    if failed:
        print(f"\n{len(failed)} quill runs failed (counted as CER 1.0, last word wrong), e.g.:")
        for r in failed[:5]:
            print(f"  {r['kind']} bias {r['bias']:g} seed {r['seed']} style {r['style'] or '-'}: "
                  f"exit {r['quill_rc']}: {last_line(r['quill_stderr'])}")
    capped = sum(r["quill_stderr"].count("step cap") for r in recs)
    if capped:
        print(f"\nquill reported {capped} line(s) reaching the step cap across all images")

    if args.broken_lines:
        print(f"\nBroken lines: {len(passages)} passages x seeds {BROKEN_SEEDS[0]}-{BROKEN_SEEDS[-1]} at bias {BROKEN_BIAS:g}; a "
              f"line is flagged when its OCR CER (psm 7 on its crop) > {LINE_CER_LIMIT} or its ink is taller than "
              f"{INK_HEIGHT_LIMIT}x the page's median line")
        print(f"{'passage':>7} {'seed':>4} {'lines':>5} {'bands':>5} {'resampled':>9} {'capped':>6} "
              f"{'CER>0.3':>7} {'tall ink':>8} {'flagged':>7}  notes")
        for r in broken:
            if r["failed"]:
                print(f"{r['passage']:>7} {r['seed']:>4} {r['lines']:>5} {'-':>5} {r['resampled']:>9} "
                      f"{r['capped']:>6} {'-':>7} {'-':>8} {r['flagged']:>7}  quill failed (exit {r['quill_rc']}): "
                      f"{last_line(r['quill_stderr'])}")
                continue
            notes = "; ".join(f for f in r["flags"] if f.startswith("bands"))
            print(f"{r['passage']:>7} {r['seed']:>4} {r['lines']:>5} {r['bands']:>5} {r['resampled']:>9} "
                  f"{r['capped']:>6} {r['flagged_cer']:>7} {r['flagged_ink']:>8} {r['flagged']:>7}  {notes}")
        total_lines = sum(r["lines"] for r in broken)
        print(f"total: {sum(r['resampled'] for r in broken)} lines resampled by quill, "
              f"{sum(r['flagged'] for r in broken)} of {total_lines} lines flagged by the check, "
              f"{sum(1 for r in broken if any(f.startswith('bands') for f in r['flags']))} pages with bands != lines"
              f"{', ' + str(sum(r['failed'] for r in broken)) + ' pages where quill failed (all lines flagged)' if any(r['failed'] for r in broken) else ''}")
    elapsed = time.time() - started
    print(f"\n{len(recs)} images{' + ' + str(len(broken)) + ' broken-lines pages' if broken else ''} in "
          f"{elapsed:.0f} s (--jobs {args.jobs})")

    if args.json:
        out = {"setup": {"quill": args.quill, "quill_version": quill_version, "model": args.model,
                         "QUILL_MODEL_DIR": os.environ.get("QUILL_MODEL_DIR"), "tesseract": tess_version,
                         "line_height": LINE_HEIGHT, "pen_width": PEN_WIDTH, "biases": biases, "styles": styles,
                         "sentences": len(sentences), "sentence_seeds": "sentence i uses seed i",
                         "page_seeds": list(PAGE_SEEDS), "page_text_via": "--input" if runner.has_input else "argument",
                         "ocr_scale": args.ocr_scale, "ocr_pad": args.ocr_pad if args.ocr_scale > 1 else 0,
                         "seed_offset": args.seed_offset, "write_args": runner.write_args,
                         "jobs": args.jobs, "seconds": round(elapsed, 1), "description": setup},
               "summary": summary, "items": recs}
        if lists:
            out["setup"]["lists"] = {n: len(v) for n, v in lists.items()}
            out["lists"] = list_summary
        if args.broken_lines:
            out["broken_lines"] = {"bias": BROKEN_BIAS, "seeds": list(BROKEN_SEEDS), "cer_limit": LINE_CER_LIMIT,
                                   "ink_height_limit": INK_HEIGHT_LIMIT, "pages": broken}
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1, ensure_ascii=False)
            f.write("\n")
        print(f"saved {args.json}")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
