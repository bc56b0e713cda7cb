# mk/version.mk - rebuild what prints the version when the version changes.
#
# PAMSH_VERSION reaches lpam.c (pam.core.versions(), the User-Agent) as a
# -D flag (see VERSION in the Makefile), which the compiler's dependency
# files do not record: without this, a new commit or tag would leave
# `pamsh --version` telling the old one.  The stamp is rewritten only when
# its content changes, so an unchanged version rebuilds nothing.

VERSION_STAMP := $(BUILD)/version.stamp

.PHONY: version-stamp-check
$(VERSION_STAMP): version-stamp-check
	@mkdir -p $(@D)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@

$(foreach d,$(BUILD)/obj $(HOOKS)/obj $(ASAN)/obj,$(d)/lpam.o): $(VERSION_STAMP)

# `make version`: what this tree would build as
.PHONY: version
version:
	@echo '$(VERSION)'
