# Two entry points on a fresh Debian machine:
#   make run   installs what is missing, builds, runs a bundled model
#   make test  the same install and build, then the whole test suite
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# What `make run` needs (the library and cvm-run), then what `make test` adds:
# the Python package and its tests, the quantizer's (PyTorch, Pillow and the
# Fashion-MNIST files).
RUN_PACKAGES = cmake make g++ pkg-config libeigen3-dev libxsimd-dev nlohmann-json3-dev \
               catch2 libbenchmark-dev python3 python3-numpy libstb-dev
TEST_PACKAGES = python3-dev pybind11-dev python3-pybind11 python3-pytest python3-distributed \
                python3-torch python3-torchvision python3-pil dataset-fashion-mnist
EXAMPLE_MODEL = examples/models/fashion_mnist
EXAMPLE_IMAGE = $(EXAMPLE_MODEL)/images/test_0000_ankle_boot.png

.PHONY: all deps test-deps build build-run run test clean

all: build

deps:
	@tools/install_missing.sh $(RUN_PACKAGES)

test-deps: deps
	@tools/install_missing.sh $(TEST_PACKAGES)

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

# Configured again each time: packages `make test` installed after a `make run`
# (Python, pybind11) are found then.
build: test-deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j$(JOBS)

# Only what `make run` runs: the library and cvm-run (not the tests, examples
# and benchmarks that `make test` builds).
build-run: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS) --target cvm cvm-run

run: build-run
	./$(BUILD)/cvm-run info --model $(EXAMPLE_MODEL)
	./$(BUILD)/cvm-run --model $(EXAMPLE_MODEL) --image $(EXAMPLE_IMAGE) --top 3

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

clean:
	rm -rf $(BUILD)
