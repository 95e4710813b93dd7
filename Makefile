# mirage — top-level entry points.  The build itself is meson + ninja.
#   make          build into build/
#   make run      install missing Debian packages, build, serve a mirrored headless
#                 display to the browser (mirage-vnc --embedded)
#   make check    install missing Debian packages, build, run every test
#   make install / make uninstall   (PREFIX, DESTDIR)

BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
MESON    ?= meson
NINJA    ?= ninja

MESON_OPTS := --prefix=$(PREFIX)
ifeq ($(CI),true)
MESON_OPTS += -Dwerror=true
endif

.PHONY: all build deps run check install uninstall clean

all: build

deps:
	@sh scripts/deps.sh

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD) $(MESON_OPTS)

build: $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)

run: deps
	@$(MAKE) --no-print-directory build
	@sh scripts/run-vnc.sh $(BUILD)

check: deps
	@$(MAKE) --no-print-directory build
	@sh scripts/check.sh $(BUILD)

install: build
	@# PREFIX may differ from the one the build directory was set up with.
	$(MESON) configure $(BUILD) --prefix=$(PREFIX) >/dev/null
	DESTDIR=$(DESTDIR) $(MESON) install -C $(BUILD)

uninstall:
	DESTDIR=$(DESTDIR) $(NINJA) -C $(BUILD) uninstall

clean:
	rm -rf $(BUILD) $(BUILD)-asan
