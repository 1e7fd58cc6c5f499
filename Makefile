# Two entry points on a fresh Debian machine:
#   make run   installs what is missing, builds, runs a bundled model
#   make test  the same install and build, then the whole test suite
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
DEBIAN_PACKAGES = cmake make g++ pkg-config libeigen3-dev libxsimd-dev nlohmann-json3-dev \
                  catch2 libbenchmark-dev python3 python3-numpy python3-dev pybind11-dev \
                  python3-pybind11 python3-pytest python3-distributed
EXAMPLE_MODEL = examples/models/lenet_28

.PHONY: all deps build run test clean

all: build

deps:
	@missing=""; \
	for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

run: build
	./$(BUILD)/cvm-run info --model $(EXAMPLE_MODEL)
	./$(BUILD)/cvm-run --model $(EXAMPLE_MODEL) --input $(EXAMPLE_MODEL)/input.bin

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

clean:
	rm -rf $(BUILD)
