# Docker images and the tests against a real engine (included by the Makefile).
# `make demo-image` and `make docker-test` need an engine that answers
# (`tools/docker-engine start` starts one); `make build-image` also needs
# access to ghcr.io and Docker Hub (mk/prodlike.mk builds the same
# Dockerfile.sidecars without them).
DOCKER ?= docker
IMAGE ?= claude-bottle-sidecars:latest
DEMO_IMAGE ?= claude-bottle-sidecars-demo:latest
DOCKER_CONTEXT := target/docker-context

.PHONY: build-image demo-image docker-test docker-engine-start docker-engine-stop

# Production bundle from the registry images Dockerfile.sidecars pins. The
# build context is sidecar-init and bundle/ (sidecars-context, mk/prodlike.mk).
build-image: sidecars-context
	$(DOCKER) build -f Dockerfile.sidecars -t $(IMAGE) $(DOCKER_CONTEXT)/sidecars

# Offline FROM-scratch image: sidecar-init plus the stand-in in every slot.
demo-image: build fixtures
	rm -rf $(DOCKER_CONTEXT)/demo && mkdir -p $(DOCKER_CONTEXT)/demo
	cp $(BIN) $(DOCKER_CONTEXT)/demo/sidecar-init
	cp $(STANDIN) $(DOCKER_CONTEXT)/demo/standin
	$(DOCKER) build -f Dockerfile.demo -t $(DEMO_IMAGE) $(DOCKER_CONTEXT)/demo

docker-test: demo-image
	SIDECAR_DEMO_IMAGE=$(DEMO_IMAGE) DOCKER=$(DOCKER) \
	  $(CARGO) test --release -p sidecar-init --test docker -- --test-threads=1

docker-engine-start:
	tools/docker-engine start

docker-engine-stop:
	tools/docker-engine stop
