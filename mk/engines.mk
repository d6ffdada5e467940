# The demo image's core checks (tests/engines.rs) under podman and under
# containerd (included by the Makefile). Each recipe starts its engine with
# the project's tool when none answers and stops it afterwards, but only if
# it started it (tools/podman-engine, tools/containerd-engine). x86_64 only:
# the arm64 image runs under Docker in `make docker-test`.
#
#   make podman-test       podman builds Dockerfile.demo itself (no Docker needed)
#   make containerd-test   podman's image, saved and imported into a private
#                          containerd; driven by `ctr run` / `ctr task kill`
PODMAN ?= podman
PODMAN_STATE ?= /tmp/sidecar-init-podman-engine
CONTAINERD_STATE ?= /tmp/sidecar-init-containerd
# podman names a locally built image localhost/NAME; so does containerd once imported.
ENGINE_PODMAN_ENV := CONTAINERS_CONF=$(PODMAN_STATE)/containers.conf PODMAN_ENGINE_STATE=$(PODMAN_STATE)
ENGINE_CTR_ENV := CONTAINERD_ADDRESS=$(CONTAINERD_STATE)/containerd.sock CONTAINERD_NAMESPACE=sidecar-init \
  CONTAINERD_ENGINE_STATE=$(CONTAINERD_STATE)

.PHONY: podman-image podman-test containerd-test

podman-image: demo-context
	$(ENGINE_PODMAN_ENV) tools/podman-engine start
	$(ENGINE_PODMAN_ENV) $(PODMAN) build -q -f Dockerfile.demo -t $(DEMO_IMAGE) $(DOCKER_CONTEXT)/demo-$(ARCH)

podman-test: podman-image
	start=$$SECONDS; $(ENGINE_PODMAN_ENV) SIDECAR_DEMO_IMAGE=$(DEMO_IMAGE) DOCKER=$(PODMAN) \
	  $(CARGO) test --release -p sidecar-init --test engines -- --test-threads=1 --show-output; rc=$$?; \
	  $(ENGINE_PODMAN_ENV) tools/podman-engine stop; \
	  echo "podman-test: $$((SECONDS - start)) s"; exit $$rc

containerd-test: podman-image
	rm -f target/containerd-demo.tar
	$(ENGINE_PODMAN_ENV) $(PODMAN) save -q --format docker-archive -o target/containerd-demo.tar $(DEMO_IMAGE)
	started=0; $(ENGINE_CTR_ENV) tools/containerd-engine status 2>&1 | grep -q ' answers at ' \
	  || { $(ENGINE_CTR_ENV) tools/containerd-engine start && started=1; } || exit 1; \
	  start=$$SECONDS; \
	  $(ENGINE_CTR_ENV) ctr images import target/containerd-demo.tar >/dev/null \
	  && $(ENGINE_CTR_ENV) SIDECAR_ENGINE=containerd SIDECAR_DEMO_IMAGE=localhost/$(DEMO_IMAGE) \
	    $(CARGO) test --release -p sidecar-init --test engines -- --test-threads=1 --show-output; rc=$$?; \
	  if ((started)); then $(ENGINE_CTR_ENV) tools/containerd-engine stop; fi; \
	  echo "containerd-test: $$((SECONDS - start)) s"; exit $$rc
