# The production-like image, built and tested offline (included by the Makefile).
#
# `make prodlike-image` builds Dockerfile.sidecars, the production recipe,
# with the three registry images it starts from replaced by local stand-ins
# (bundle/offline/Dockerfile): Debian trixie from mmdebstrap with mitmproxy
# 11.1.3 from a host-side wheelhouse, Debian's gitleaks, and a Python
# pipelock. Everything else (the apt-get of git and ssh, the slots' scripts
# from bundle/, the init, ENV, ENTRYPOINT) is the production recipe as is.
# Cached: the Debian base is imported once (tools/prodlike-base), the
# wheelhouse is kept in $(PRODLIKE_DIR)/wheels (tools/prodlike-wheels), and
# Docker's layer cache does the rest.
#
# `make prodlike-test` runs tests/prodlike.rs against it: the real daemons
# under the init in a real engine (`tools/docker-engine start` starts one).
PRODLIKE_IMAGE ?= claude-bottle-sidecars:prodlike
OFFLINE_PREFIX ?= sidecar-offline
OFFLINE_DEBIAN := $(OFFLINE_PREFIX)/debian:trixie
OFFLINE_MITMPROXY := $(OFFLINE_PREFIX)/mitmproxy:11.1.3
OFFLINE_PIPELOCK := $(OFFLINE_PREFIX)/pipelock:2.3.0-standin
OFFLINE_GITLEAKS := $(OFFLINE_PREFIX)/gitleaks:debian
PRODLIKE_DIR := target/prodlike

.PHONY: sidecars-context prodlike-base prodlike-wheels prodlike-offline prodlike-image prodlike-test

# The build context of Dockerfile.sidecars (make build-image uses it too):
# the init and the slots' files.
sidecars-context: build
	rm -rf $(DOCKER_CONTEXT)/sidecars && mkdir -p $(DOCKER_CONTEXT)/sidecars
	cp $(BIN) $(DOCKER_CONTEXT)/sidecars/sidecar-init
	cp -a bundle $(DOCKER_CONTEXT)/sidecars/bundle
	rm -rf $(DOCKER_CONTEXT)/sidecars/bundle/offline

prodlike-base:
	DOCKER=$(DOCKER) tools/prodlike-base $(OFFLINE_DEBIAN)

prodlike-wheels:
	tools/prodlike-wheels $(PRODLIKE_DIR)/wheels

# The stand-ins for the registry images, one tag per stage.
prodlike-offline: prodlike-base prodlike-wheels
	rm -rf $(DOCKER_CONTEXT)/offline && mkdir -p $(DOCKER_CONTEXT)/offline
	cp -a bundle/offline/. $(DOCKER_CONTEXT)/offline/
	cp -al $(PRODLIKE_DIR)/wheels $(DOCKER_CONTEXT)/offline/wheels 2>/dev/null \
	  || cp -a $(PRODLIKE_DIR)/wheels $(DOCKER_CONTEXT)/offline/wheels
	for stage in gitleaks:$(OFFLINE_GITLEAKS) pipelock:$(OFFLINE_PIPELOCK) mitmproxy:$(OFFLINE_MITMPROXY); do \
	  $(DOCKER) build --build-arg DEBIAN=$(OFFLINE_DEBIAN) --target $${stage%%:*} -t $${stage#*:} \
	    -f $(DOCKER_CONTEXT)/offline/Dockerfile $(DOCKER_CONTEXT)/offline || exit 1; \
	  echo "prodlike: $${stage#*:} built (stage $${stage%%:*})"; \
	done

prodlike-image: sidecars-context prodlike-offline
	$(DOCKER) build -f Dockerfile.sidecars -t $(PRODLIKE_IMAGE) \
	  --build-arg BASE_IMAGE=$(OFFLINE_MITMPROXY) \
	  --build-arg PIPELOCK_IMAGE=$(OFFLINE_PIPELOCK) \
	  --build-arg GITLEAKS_IMAGE=$(OFFLINE_GITLEAKS) \
	  $(DOCKER_CONTEXT)/sidecars
	@$(DOCKER) image inspect --format '{{.Size}}' $(PRODLIKE_IMAGE) | awk '{printf "prodlike: $(PRODLIKE_IMAGE) is %.0f MB\n", $$1/1e6}'

prodlike-test: prodlike-image
	SIDECAR_PRODLIKE_IMAGE=$(PRODLIKE_IMAGE) DOCKER=$(DOCKER) \
	  $(CARGO) test --release -p sidecar-init --test prodlike -- --test-threads=1
