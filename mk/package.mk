# mk/package.mk - what `make install` puts beside the binary, and the
# packages: a Debian .deb and a source tarball.
#
#   make install / uninstall   the binary (Makefile) plus man pages, bash
#                              completion, example scripts, config and
#                              systemd units; PREFIX (/usr/local), DESTDIR
#                              and the directories below may be overridden
#   make deb                   build/pamsh_<version>_<arch>.deb, with
#                              dpkg-deb, from a hardened build's install
#                              tree (build/deb/root)
#   make lintian               make deb, then lintian on it: no error,
#                              warning or even info tag
#   make dist                  build/pamsh-<version>.tar.gz, which builds
#                              with `make` outside git
#   make check-man             the man pages render without a warning
#
# The Makefile's own install/uninstall recipes handle the binary; the rules
# here add prerequisites to them (a prerequisite-only rule merges with
# theirs).

DATADIR        ?= $(PREFIX)/share
MANDIR         ?= $(DATADIR)/man
BASHCOMPDIR    ?= $(DATADIR)/bash-completion/completions
PKGDATADIR     ?= $(DATADIR)/pamsh
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system

MAN_PAGES    := man/pamsh.1 man/pamsh-lua.7
EX_SCRIPTS   := $(sort $(wildcard scripts/*.lua))
UNITS        := $(sort $(wildcard scripts/systemd/*.service scripts/systemd/*.timer))

# the units and the cron example name the binary by its default path
SUBST_BINDIR := sed 's|/usr/local/bin/pamsh|$(PREFIX)/bin/pamsh|g'

.PHONY: install-data uninstall-data deb lintian dist check-man
install: install-data
uninstall: uninstall-data

install-data:
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 \
	  $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(PKGDATADIR)/scripts \
	  $(DESTDIR)$(PKGDATADIR)/examples $(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 644 man/pamsh.1 $(DESTDIR)$(MANDIR)/man1/pamsh.1
	install -m 644 man/pamsh-lua.7 $(DESTDIR)$(MANDIR)/man7/pamsh-lua.7
	install -m 644 completion/pamsh $(DESTDIR)$(BASHCOMPDIR)/pamsh
	install -m 755 $(EX_SCRIPTS) $(DESTDIR)$(PKGDATADIR)/scripts/
	install -m 644 packaging/config.example $(DESTDIR)$(PKGDATADIR)/examples/config
	$(SUBST_BINDIR) scripts/systemd/pamsh.cron > $(DESTDIR)$(PKGDATADIR)/examples/pamsh.cron
	chmod 644 $(DESTDIR)$(PKGDATADIR)/examples/pamsh.cron
	for u in $(UNITS); do \
	  $(SUBST_BINDIR) $$u > $(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/} && \
	  chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/} || exit 1; \
	done

# removes what install-data installed, and the directories that are
# pamsh's own; shared ones (man1, completions, systemd/system) stay
uninstall-data:
	rm -f $(DESTDIR)$(MANDIR)/man1/pamsh.1 $(DESTDIR)$(MANDIR)/man7/pamsh-lua.7 \
	  $(DESTDIR)$(BASHCOMPDIR)/pamsh \
	  $(addprefix $(DESTDIR)$(PKGDATADIR)/scripts/,$(notdir $(EX_SCRIPTS))) \
	  $(DESTDIR)$(PKGDATADIR)/examples/config $(DESTDIR)$(PKGDATADIR)/examples/pamsh.cron \
	  $(addprefix $(DESTDIR)$(SYSTEMDUNITDIR)/,$(notdir $(UNITS)))
	for d in scripts examples ""; do \
	  if [ -d "$(DESTDIR)$(PKGDATADIR)/$$d" ]; then \
	    rmdir --ignore-fail-on-non-empty "$(DESTDIR)$(PKGDATADIR)/$$d"; fi; \
	done

# ---------------------------------------------------------------- .deb
# The binary in the package is built apart (build/deb/build) with Debian's
# hardening flags, the ones lintian checks for; Lua and lua-cjson come
# from Debian's static libraries, built with them already.
DEB_DIR        := $(BUILD)/deb
DEB_ARCH        = $(shell dpkg --print-architecture)
DEB             = $(BUILD)/pamsh_$(VERSION)_$(DEB_ARCH).deb
DEB_MAINTAINER ?= pamsh maintainers <maintainers@users.noreply.r-seed-0e491707.example>
DEB_FLAGS       = DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get
DEB_CFLAGS      = $(shell $(DEB_FLAGS) CFLAGS) $(shell $(DEB_FLAGS) CPPFLAGS)
DEB_LDFLAGS     = $(shell $(DEB_FLAGS) LDFLAGS)
DEB_BUILD       = BUILD=$(DEB_DIR)/build CFLAGS="$(DEB_CFLAGS)" LDFLAGS="$(DEB_LDFLAGS)"

deb:
	@for t in dpkg-deb dpkg-buildflags objdump; do command -v $$t >/dev/null || { \
	  echo "make deb: $$t is missing (make deps installs it)" >&2; exit 1; }; done
	@$(MAKE) --no-print-directory $(DEB_BUILD) $(DEB_DIR)/build/pamsh
	rm -rf $(DEB_DIR)/root
	@$(MAKE) --no-print-directory $(DEB_BUILD) PREFIX=/usr SYSTEMDUNITDIR=/lib/systemd/system \
	  DESTDIR=$(CURDIR)/$(DEB_DIR)/root install >/dev/null
	rm -f $(BUILD)/pamsh_*.deb
	packaging/mkdeb $(DEB_DIR)/root '$(VERSION)' '$(DEB_ARCH)' '$(DEB_MAINTAINER)' $(DEB)
	@echo $(DEB)

lintian: deb
	lintian --fail-on error,warning,info --display-info $(DEB)

# ---------------------------------------------------------------- tarball
dist:
	rm -f $(BUILD)/pamsh-*.tar.gz
	packaging/mkdist $(BUILD) '$(VERSION)'

# ---------------------------------------------------------------- man pages
check-man:
	@for m in $(MAN_PAGES); do \
	  out=$$(LC_ALL=C.UTF-8 groff -ww -z -mandoc -Tutf8 $$m 2>&1); \
	  if [ -n "$$out" ]; then echo "$$m:"; echo "$$out"; exit 1; fi; \
	done; echo "man pages: no warnings"
