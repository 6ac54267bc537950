# The two commands of the README quickstart. Each installs what it needs from the package
# registries (ONNX Runtime from PyPI; the CUDA 13.0 toolkit from PyPI for the `cuda` feature's
# build and tests), into the git-ignored .local/ folder. Nothing is installed by hand.

.PHONY: demo test wheel setup-ort setup-cuda

# Runs the whole pipeline on built-in phantoms (no arguments, no network at run time).
demo: setup-ort
	cargo run --release -- demo $(ARGS)

# The full test suite: default features, the Python package (wheel built, installed in a venv
# under .local/, pytest), then with the CUDA engine compiled (GPU tests are #[ignore]d without a
# GPU). .ci/run calls exactly this.
test: setup-ort setup-cuda
	tools/test.sh

# The Python package's wheel: target/wheels/medfm_robust-*.whl (maturin from PyPI into .local/).
wheel:
	@[ -x .local/py-build/bin/maturin ] || (python3 -m venv .local/py-build && .local/py-build/bin/pip install --quiet "$$(grep '^maturin==' tools/requirements-python.txt)")
	.local/py-build/bin/maturin build --release --strip -m python/Cargo.toml --out target/wheels

setup-ort:
	@if [ -x tools/setup_ort.sh ]; then tools/setup_ort.sh; fi

setup-cuda:
	@if [ -x tools/install_cuda_toolkit.sh ]; then tools/install_cuda_toolkit.sh; fi
