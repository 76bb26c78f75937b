# Quill: `make test` and `make demo` do all set-up on a fresh Debian/Ubuntu machine with Swift installed.
SHELL      := /bin/bash
SWIFT      ?= swift
APT_PKGS   := libopenblas-dev libcairo2-dev libpng-dev libgif-dev pkg-config
RELEASE    := .build/release/quill
# Debian's OpenBLAS detects recent Xeons as Haswell; on Intel CPUs with AVX-512 this selects its AVX-512 kernels
# (read when the library loads). Only there: on a CPU without AVX-512 (an AMD EPYC VM that hides it has been seen)
# those kernels die with an illegal instruction, and on AMD they are unsafe in older OpenBLAS. An OPENBLAS_CORETYPE
# the environment sets is always kept.
ifeq ($(origin OPENBLAS_CORETYPE),undefined)
ifneq ($(shell grep -m1 -c GenuineIntel /proc/cpuinfo 2>/dev/null),0)
ifneq ($(shell grep -m1 -c avx512f /proc/cpuinfo 2>/dev/null),0)
export OPENBLAS_CORETYPE := SkylakeX
endif
endif
endif

.PHONY: deps mpi-deps build release test demo demo-char bench figures styles clean legibility fuzz docs

# Installs the Debian packages named in $(1) that are missing (as root), or prints the sudo line and stops.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "Missing system packages. Run:"; echo "  sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi
endef

deps:
	$(call apt_install,$(APT_PKGS))

# Open MPI, for the data-parallel training tests only (DataParallelTests): quill itself builds without it and loads
# libmpi.so.40 at run time when mpirun/srun starts it. `make test` installs these as root; otherwise it says how and
# the MPI tests skip.
MPI_PKGS   := openmpi-bin libopenmpi-dev

mpi-deps:
	@missing=""; for p in $(MPI_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "The MPI tests will skip; to run them: sudo apt-get install -y$$missing"; \
	  fi; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product quill

# Runs the XCTest suite and closes with one summary line ("tests: N passed, N failed, N skipped").
test: deps mpi-deps
	$(SWIFT) build --build-tests
	@mkdir -p .build
	@$(SWIFT) test --skip-build --disable-swift-testing 2>&1 | tee .build/test.log; status=$${PIPESTATUS[0]}; \
	  summary=$$(grep -E "Executed [0-9]+ tests?" .build/test.log | tail -1); \
	  total=$$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<< "$$summary"); \
	  skipped=$$(grep -oE "[0-9]+ tests? skipped" <<< "$$summary" | grep -oE "^[0-9]+" || echo 0); \
	  failed=$$(sed -E 's/.* ([0-9]+) failures?.*/\1/' <<< "$$summary"); \
	  if [ -z "$$summary" ]; then echo "tests: no test summary found"; exit 1; fi; \
	  echo "tests: $$((total - failed - skipped)) passed, $$failed failed, $$skipped skipped"; exit $$status

# The demo writes a sentence with the bundled synthesis model (models/synthesis), then draws its attention window.
demo: release
	@mkdir -p runs
	$(RELEASE) write "Quill writes by hand on an ordinary CPU" --bias 1 --seed 3 -o runs/demo.png
	$(RELEASE) plot window "hello handwriting" --bias 1 --seed 3 -o runs/demo-window.png
	@echo "see runs/demo.png and runs/demo-window.png"

# The char demo trains a small char model for a minute on the project's own sources and docs, then samples from it.
DEMO_DATA := README.md datasets/README.md $(sort $(wildcard Sources/*/*.swift))

demo-char: release
	@mkdir -p runs
	$(RELEASE) char train $(addprefix --data ,$(DEMO_DATA)) --out runs/demo-char --force \
	    --hidden 256 --layers 2 --seq 64 --batch 32 --minutes 1 --eval-every 150 --sample-length 120
	$(RELEASE) char sample --model runs/demo-char --prime "public func " --length 600 --temperature 0.6 --seed 1

bench: release
	$(RELEASE) bench peak
	$(RELEASE) bench char
	$(RELEASE) bench handwriting --network prediction
	$(RELEASE) bench handwriting --network synthesis
	$(RELEASE) bench sampling
	$(RELEASE) bench kernels --batch 32 --hidden 400

# Installs quill to PREFIX/bin and the bundled models (with the synthesis model's styles) to
# PREFIX/share/quill/models, where an installed quill finds them (QUILL_MODEL_DIR, when set, still wins).
# DESTDIR stages the install for packaging. `make uninstall PREFIX=…` removes exactly these files.
PREFIX     ?= /usr/local
MODELS_DIR  = $(DESTDIR)$(PREFIX)/share/quill/models

.PHONY: install uninstall

install: release
	@if [ -z "$(PREFIX)" ]; then echo "PREFIX is empty; give a folder, e.g. make install PREFIX=$$HOME/.local"; exit 1; fi
	install -d $(DESTDIR)$(PREFIX)/bin $(MODELS_DIR)/synthesis/styles $(MODELS_DIR)/prediction
	install -m 755 $(RELEASE) $(DESTDIR)$(PREFIX)/bin/quill
	install -m 644 models/synthesis/model.safetensors $(MODELS_DIR)/synthesis/
	install -m 644 models/synthesis/styles/*.json $(MODELS_DIR)/synthesis/styles/
	install -m 644 models/prediction/model.safetensors $(MODELS_DIR)/prediction/
	@echo "installed $(DESTDIR)$(PREFIX)/bin/quill and its models in $(MODELS_DIR)"

uninstall:
	@if [ -z "$(PREFIX)" ]; then echo "PREFIX is empty; give the folder quill was installed to"; exit 1; fi
	rm -f $(DESTDIR)$(PREFIX)/bin/quill
	rm -rf $(MODELS_DIR)/synthesis $(MODELS_DIR)/prediction
	@rmdir $(MODELS_DIR) $(DESTDIR)$(PREFIX)/share/quill 2>/dev/null || true

# Quill beside the PyTorch scripts of ../shared/bench/pytorch on this machine, alternated 3 rounds, same threads; prints
# both medians, their ratio and the measured FMA peak. Needs a Python with torch (PYTHON=…); BENCH_COMPARE_ARGS passes
# options (--quick, --rounds N, --threads N, --workloads char,prediction,synthesis,sampling) to the script.
PYTHON ?= $(if $(wildcard /tmp/torchvenv/bin/python),/tmp/torchvenv/bin/python,python3)
BENCH_COMPARE_ARGS ?=

.PHONY: bench-compare
bench-compare:
	@$(PYTHON) Tools/bench-compare.py --check
	$(MAKE) release
	$(PYTHON) Tools/bench-compare.py --quill $(RELEASE) $(BENCH_COMPARE_ARGS)

# Regenerates the README's figures. The Shakespeare run takes FIG_MINUTES (25) of training unless
# runs/shakespeare already holds one; the IAM-OnDB figure needs ../shared/datasets beside the clone.
SHARED     ?= ../shared/datasets
FIG_MINUTES ?= 25

figures: release
	@mkdir -p figures runs
	@if [ ! -f runs/shakespeare/model.safetensors ]; then \
	  $(RELEASE) char train --data $(SHARED)/tinyshakespeare/input.txt --out runs/shakespeare --layers 2 --hidden 512 \
	    --dropout 0.2 --batch 50 --seq 50 --lr 2e-3 --lr-decay 0.85 --lr-decay-every 500 --lr-decay-start 2000 \
	    --minutes $(FIG_MINUTES) --eval-every 250; \
	fi
	$(RELEASE) plot loss runs/shakespeare -o figures/char-loss-shakespeare.png --x time --title "2×512 LSTM on tiny Shakespeare"
	$(RELEASE) plot loss models/prediction-full-run -o figures/prediction-full-loss.png --x time --title "3×400 prediction network, full resolution"
	$(RELEASE) plot loss figures/data/mrnn-hf-metrics.jsonl figures/data/mrnn-adam-metrics.jsonl --labels HF,Adam --x time \
	    --title "1×256 MRNN on tiny Shakespeare: Hessian-free against Adam, 60 minutes each" -o figures/mrnn-hf-adam.png
	$(RELEASE) char typo --model runs/shakespeare --text $(SHARED)/tinyshakespeare/input.txt --at 1000 --length 120 \
	    -o figures/char-typo.png
	$(RELEASE) char saturation --model runs/shakespeare --text $(SHARED)/tinyshakespeare/input.txt --max-chars 20000 \
	    -o figures/char-saturation.png
	tail -c 10000 $(SHARED)/tinyshakespeare/input.txt > runs/shakespeare-heldout.txt
	$(RELEASE) char cells --model runs/shakespeare --text runs/shakespeare-heldout.txt --find --top 2 --show 320 --columns 80 \
	    -o figures/char-cells.png
	$(RELEASE) char gradient-flow --cell rnn,lstm,gru --length 100 --layers 2 --hidden 128 -o figures/gradient-flow-untrained.png
	$(RELEASE) char time-gate --period 6 --shift 3 --r-on 0.2 --length 24 -o figures/time-gate-note002.png
	$(RELEASE) char gradient-flow --model runs/shakespeare --text $(SHARED)/tinyshakespeare/input.txt --length 100 \
	    -o figures/gradient-flow-shakespeare.png
	$(RELEASE) task palindrome --cell rnn,lstm,gru --lengths 5,10,15,20,30 --steps 600 --hidden 32 --batch 64 --lr 0.01 \
	    --eval-sequences 500 -o figures/task-palindrome-sweep.png
	$(RELEASE) task palindrome --cell rnn,lstm,gru --lengths 5,10,20,30,40,50 --steps 1000 --hidden 32 --batch 64 --lr 0.01 \
	    --eval-sequences 500 -o figures/task-palindrome-sweep-1000.png
	# Issue 16's measurement, note 002's settings (3,000 steps of 128 sequences, 1×128, RMSProp 10⁻³): about an hour.
	$(RELEASE) task palindrome --cell rnn,lstm,gru --lengths 5,10,15,20,25,30,35,40,45,50 --steps 3000 \
	    -o figures/task-palindrome-sweep-3000.png
	$(RELEASE) char sweep --data $(SHARED)/tinyshakespeare/input.txt --out runs/sweep-similarity \
	    --cell lstm,gru,rnn --layers 1,2 --hidden 64,128 --steps 600 --eval-every 300
	$(RELEASE) char similarity $$(for d in runs/sweep-similarity/*/; do printf -- '--model %s ' $$d; done) \
	    --text runs/shakespeare-heldout.txt --max-chars 2000 -o figures/char-similarity.png
	$(RELEASE) char similarity --states --model runs/shakespeare --text runs/shakespeare-heldout.txt --max-chars 1500 \
	    -o figures/char-states-tsne.png
	$(RELEASE) char train --data $(SHARED)/tinyshakespeare/input.txt --out runs/histograms --force --layers 2 --hidden 128 \
	    --batch 32 --seq 64 --lr 2e-3 --steps 1000 --eval-every 250 --histogram-every 25
	$(RELEASE) plot histograms runs/histograms --parameter rnn.1.wx -o figures/char-histograms-weights.png \
	    --title "rnn.1.wx weights, 2×128 LSTM on tiny Shakespeare"
	$(RELEASE) plot histograms runs/histograms --parameter rnn.1.wx --gradients -o figures/char-histograms-gradients.png \
	    --title "rnn.1.wx gradients (before clipping)"
	$(RELEASE) data import iam-jsonl $(SHARED)/iam_ondb_lines/iam_ondb_lines.sample100.jsonl --out runs/iam-sample100.qds
	$(RELEASE) data show runs/iam-sample100.qds --id a01-000u-04 -o figures/iam-a01-000u-04.png
	$(RELEASE) write "$$(printf 'A handwritten page from Quill.\nEvery line is sampled together,\nand each one stops where its text ends.')" \
	    --bias 1 --seed 7 -o figures/page.png
	$(RELEASE) write "Quill writes by hand" --bias 1 --seed 7 -o figures/page.svg
	$(RELEASE) plot window "under the window" --bias 1 --seed 2 -o figures/window.png
	$(RELEASE) plot loss models/synthesis -o figures/synthesis-loss.png --x time --title "Synthesis network on IAM-OnDB"
	$(RELEASE) plot density --model models/prediction --length 400 --bias 0.5 --seed 4 -o figures/density.png
	$(RELEASE) plot loss models/prediction -o figures/prediction-loss.png --x time --title "Prediction network on IAM-OnDB"

# Remakes the bundled model's named styles from its own seeded samples (run after retraining models/synthesis).
styles: release
	$(RELEASE) style add default --model models/synthesis --text "a letter to a friend far away" --seed 4 --bias 1.5 --force
	$(RELEASE) style add rounded --model models/synthesis --text "the moon rose over the quiet hills" --seed 3 --bias 1 --force
	$(RELEASE) style add neat --model models/synthesis --text "a letter to a friend far away" --seed 4 --bias 1.5 --force
	$(RELEASE) style add upright --model models/synthesis --text "bring the books home tonight" --seed 3 --bias 1 --force
	$(RELEASE) style add relaxed --model models/synthesis --text "the moon rose over the quiet hills" --seed 4 --bias 1.5 --force

# DocC documentation of the library products (swift-docc-plugin): one archive per module, in .build/docs.
DOC_MODULES := QuillData QuillRender QuillModels QuillWriting

docs: deps
	@mkdir -p .build/docs
	@for m in $(DOC_MODULES); do \
	  $(SWIFT) package --allow-writing-to-directory .build/docs generate-documentation --target $$m \
	    --output-path .build/docs/$$m.doccarchive || exit 1; \
	done
	@echo "see .build/docs/*.doccarchive (open with Xcode, or serve one with docc preview)"

clean:
	rm -rf .build runs

# Legibility benchmark (a measuring stick, not run by CI; Quill does not depend on tesseract): quill writes known
# sentences and pages, tesseract reads them back, and the script prints the character error rate and the share of
# lines whose last word is read right, per bias and style (installs tesseract-ocr with apt-get when missing).
# Pass options with LEGIBILITY_ARGS, e.g. make legibility LEGIBILITY_ARGS="--broken-lines --json runs/legibility.json".
# Issue 11's lists of digits, capitals and symbols: LEGIBILITY_ARGS="--lists digits,capitals,symbols" (--lists-only
# for them alone).
LEGIBILITY_ARGS ?=

legibility: release
	python3 Tools/legibility/legibility.py --quill $(RELEASE) $(LEGIBILITY_ARGS)

# Fuzzes each reader of untrusted files (Fuzz/fuzz-*) with libFuzzer and AddressSanitizer for FUZZ_SECONDS each,
# starting from the committed seeds in Fuzz/Corpus; the corpus grows in .build/fuzz/corpus. A crash leaves its input
# in .build/fuzz/crashes/: commit it to Fuzz/Regressions/<target>/ with the fix (`make test` replays those).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= json-lines iam-xml inkml quickdraw prepared safetensors style ngram
FUZZ_BUILD   := .build/fuzz
FUZZ_FLAGS   := -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING

fuzz: deps
	@for t in $(FUZZ_TARGETS); do \
	  $(SWIFT) build --build-path $(FUZZ_BUILD) --product fuzz-$$t $(FUZZ_FLAGS) 2>&1 | grep -E "error:|Compiling fuzz|complete!" || exit 1; \
	done
	@mkdir -p $(FUZZ_BUILD)/crashes
	@status=0; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
	  SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 $(FUZZ_BUILD)/debug/fuzz-$$t $(FUZZ_BUILD)/corpus/$$t Fuzz/Corpus/$$t \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=20 -rss_limit_mb=3072 -max_len=65536 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/crashes/$$t- > $(FUZZ_BUILD)/$$t.log 2>&1; rc=$$?; \
	  runs=$$(grep -oE "stat::number_of_executed_units: *[0-9]+" $(FUZZ_BUILD)/$$t.log | grep -oE "[0-9]+$$"); \
	  cov=$$(grep -oE "cov: [0-9]+ ft: [0-9]+" $(FUZZ_BUILD)/$$t.log | tail -1); \
	  if [ $$rc = 0 ]; then echo "fuzz-$$t: $${runs:-?} runs in $(FUZZ_SECONDS) s, $$cov, no crash"; \
	  else status=1; echo "fuzz-$$t: FAILED (exit $$rc) after $${runs:-?} runs; see $(FUZZ_BUILD)/$$t.log and $(FUZZ_BUILD)/crashes/"; fi; \
	done; exit $$status

# The page of `quill serve` in a real browser: Debian's chromium and chromium-driver (installed with apt when
# missing; browsers downloaded by tools are not used), Selenium from PyPI in a venv under /tmp. Starts `quill serve`
# on a free loopback port, writes a 40-character line 10 times (and once more from the keyboard), checks the SVG's
# paths against the strokes, the downloads, Tab and a 375 px window, and prints the click→first-stroke and
# click→finished medians; screenshots in .build/browser-test/. Options: BROWSER_TEST_ARGS (--writes N, --speed 0…4).
BROWSER_VENV      ?= /tmp/quill-browser-venv
BROWSER_TEST_ARGS ?=

.PHONY: browser-test load-test

browser-test: release
	$(call apt_install,chromium chromium-driver python3 python3-venv)
	@if ! $(BROWSER_VENV)/bin/python -c "import selenium" 2>/dev/null; then \
	  echo "Installing Selenium in $(BROWSER_VENV)"; \
	  /usr/bin/python3 -m venv $(BROWSER_VENV) && $(BROWSER_VENV)/bin/pip install -q "selenium>=4.20,<5"; \
	fi
	$(BROWSER_VENV)/bin/python Tests/Browser/browser_test.py --quill $(RELEASE) $(BROWSER_TEST_ARGS)

# Load test of `quill serve` with wrk (installed with apt when missing), loopback only: 8 and 32 connections POST a
# 40-character line to /v1/write for 20 s each; prints 2xx/s with p50 and p99 latency and the 503s, and fails on any
# other failure. Options: LOAD_TEST_ARGS (--clients 8,32, --seconds 20, --serve-args "--workers 2 --queue 4").
LOAD_TEST_ARGS ?=

load-test: release
	$(call apt_install,wrk python3)
	/usr/bin/python3 Tests/Load/load_test.py --quill $(RELEASE) $(LOAD_TEST_ARGS)
