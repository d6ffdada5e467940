# Docker images and the tests against a real engine (included by the Makefile).
# `make demo-image` and `make docker-test` need an engine that answers
# (`tools/docker-engine start` starts one); `make build-image` also needs
# access to ghcr.io and Docker Hub (mk/prodlike.mk builds the same
# Dockerfile.sidecars without them).
DOCKER ?= docker
IMAGE ?= claude-bottle-sidecars:latest
DEMO_IMAGE ?= claude-bottle-sidecars-demo:latest
# The arm64 demo image (`make demo-image ARCH=aarch64`): the aarch64 init and
# stand-in, run by Docker under qemu-user (binfmt_misc, tools/qemu-binfmt).
DEMO_IMAGE_ARM64 ?= claude-bottle-sidecars-demo:arm64
DOCKER_CONTEXT := target/docker-context
PLATFORM_x86_64 := linux/amd64
PLATFORM_aarch64 := linux/arm64
DEMO_TAG_x86_64 := $(DEMO_IMAGE)
DEMO_TAG_aarch64 := $(DEMO_IMAGE_ARM64)

.PHONY: build-image demo-context demo-image docker-test docker-engine-start docker-engine-stop

# Production bundle from the registry images Dockerfile.sidecars pins. The
# build context is sidecar-init and bundle/ (sidecars-context, mk/prodlike.mk).
build-image: sidecars-context
	$(DOCKER) build -f Dockerfile.sidecars -t $(IMAGE) $(DOCKER_CONTEXT)/sidecars

# Offline FROM-scratch image: sidecar-init plus the stand-in in every slot,
# of ARCH's binaries, for ARCH's platform (tagged DEMO_IMAGE, or
# DEMO_IMAGE_ARM64 for aarch64). demo-context is its build context, which
# mk/engines.mk's podman build uses too.
demo-context: build fixtures
	rm -rf $(DOCKER_CONTEXT)/demo-$(ARCH) && mkdir -p $(DOCKER_CONTEXT)/demo-$(ARCH)
	cp $(BIN) $(DOCKER_CONTEXT)/demo-$(ARCH)/sidecar-init
	cp $(STANDIN) $(DOCKER_CONTEXT)/demo-$(ARCH)/standin

demo-image: demo-context emulation
	$(DOCKER) build --platform $(PLATFORM_$(ARCH)) -f Dockerfile.demo -t $(DEMO_TAG_$(ARCH)) $(DOCKER_CONTEXT)/demo-$(ARCH)

# docker.rs (Docker's own features) and engines.rs (the core checks every
# engine runs) against the x86_64 demo image, then engines.rs against the
# arm64 one under qemu (`docker run --platform linux/arm64`). The test
# harness itself runs on the host.
docker-test:
	$(MAKE) --no-print-directory demo-image ARCH=x86_64
	SIDECAR_DEMO_IMAGE=$(DEMO_IMAGE) DOCKER=$(DOCKER) \
	  $(CARGO) test --release -p sidecar-init --test docker --test engines -- --test-threads=1 --show-output
	$(MAKE) --no-print-directory demo-image ARCH=aarch64
	SIDECAR_DEMO_IMAGE=$(DEMO_IMAGE_ARM64) SIDECAR_PLATFORM=linux/arm64 DOCKER=$(DOCKER) \
	  $(CARGO) test --release -p sidecar-init --test engines -- --test-threads=1 --show-output

docker-engine-start:
	tools/docker-engine start

docker-engine-stop:
	tools/docker-engine stop
