# Two commands set everything up on a fresh machine (see README.md):
#   make book   build the website into _build/html (offline, synthetic data, `book` profile); the
#               chapters execute side by side first (tools/execute_book.py), into the build's cache
#   make test   run every notebook under nbval in a fresh Colab-like `pip install .` environment
#               beside the package tests and the website test (`ci` profile; tools/run_tests.py)
# Both create or reuse the virtual environment $(VENV) and install what they need.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch first, pinned, so pip takes the local CPU wheel where there is one; the package itself
# only asks for torch>=2.1 (Colab keeps its own build). Override: make test TORCH='torch'
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.installed
# the profile the book is built with; each profile keeps its own execution cache. Builds use no
# widgets (GRUAE_PROGRESS=off: no progress bars; GRUAE_SLIDERS=off: a slider's figure drawn once):
# executing widget outputs has been seen to stall nbclient, and a static page cannot use them
PROFILE ?= book
# glibc's allocator: keep freed memory for reuse instead of handing large blocks back to the system
# and faulting fresh pages in at the next one (PyTorch allocates every feature map anew). Training
# the book's GRU-AE, one thread of a 2-core Xeon: 2.02 -> 2.18 it/s (1.08x, four pairs in turn);
# the kernel's share of the time drops to nothing. Other C libraries ignore these variables
export MALLOC_MMAP_THRESHOLD_ := 1073741824
export MALLOC_TRIM_THRESHOLD_ := 1073741824

.PHONY: book test venv benchmarks clean data-link pretrained

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e ".[book,test]"
	@touch $@

book: venv
	@mkdir -p _build
	sed 's#_build/.jupyter_cache#_build/.jupyter_cache_$(PROFILE)#' _config.yml > _build/_config.$(PROFILE).yml
	-GRUAE_PROFILE=$(PROFILE) GRUAE_PROGRESS=off GRUAE_SLIDERS=off $(BIN)/python tools/execute_book.py --config _build/_config.$(PROFILE).yml \
		--doctrees _build/.doctrees
	GRUAE_PROFILE=$(PROFILE) GRUAE_PROGRESS=off GRUAE_SLIDERS=off $(BIN)/jupyter-book build --keep-going --config _build/_config.$(PROFILE).yml .
	$(BIN)/python tools/check_html.py _build/html

test: venv
	$(BIN)/python tools/run_tests.py

benchmarks: venv
	$(BIN)/python benchmarks/synthetic_speed.py

# train the book's shipped models until converged (hours on a CPU; resumable: run it again to go on),
# then export them into gruae/weights with their manifest. One model: make pretrained NAMES=actions-gruae
pretrained: venv
	$(BIN)/python -m gruae pretrain $(NAMES)

# use a copy of a named dataset you already have: make data-link NAME=ucsd_ped2 SRC=/path/to/ped2
data-link: venv
	$(BIN)/python -m gruae data link $(NAME) $(SRC)

clean:
	rm -rf _build
