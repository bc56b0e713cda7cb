#!/usr/bin/env bash
# make dist: a source tarball that builds with `make` outside git and whose
# binary reports the version the tarball was made from.
. "$(dirname "$0")/../setup"

unset MAKEFLAGS MAKELEVEL MFLAGS
version=$(make --no-print-directory -s -C "$TOP" version)
like "$version" "^[0-9][A-Za-z0-9.+~]*$" "the version is a valid Debian version for a native package"
run --timeout 300 make --no-print-directory -C "$TOP" dist
is "$RC" 0 "make dist: exit 0" || { diag_run; done_testing; }
tarball=$TOP/$(tail -n 1 <<<"$OUT")
is "${tarball##*/}" "pamsh-$version.tar.gz" "named pamsh-<version>.tar.gz"

list=$(tar -tzf "$tarball")
for f in Makefile VERSION packaging/version core/main.c core/config.c lua/pam.lua \
         man/pamsh.1 man/pamsh-lua.7 completion/pamsh mk/package.mk vendor/install-deps \
         scripts/demo.lua tests/setup; do
  grep -qx "pamsh-$version/$f" <<<"$list" || fail "the tarball lacks $f"
done
pass "the tarball has the sources, man pages, completion, packaging and tests"
unlike "$list" "(^|/)(build|\.git)/" "no build/ and no .git/ in the tarball"
is "$(tar -tvzf "$tarball" | awk '{ print $2 }' | sort -u)" "0/0" "entries owned by 0:0, not by whoever made it"

# build it where no git repository is anywhere above
mkdir -p "$TMP/src"
tar -xzf "$tarball" -C "$TMP/src"
src=$TMP/src/pamsh-$version
is "$(cat "$src/VERSION")" "$version" "VERSION in the tarball holds the version it was made from"
run env GIT_CEILING_DIRECTORIES="$TMP" make --no-print-directory -s -C "$src" version
is "$OUT" "$version" "outside git, the build takes its version from VERSION"
run --timeout 600 env GIT_CEILING_DIRECTORIES="$TMP" make --no-print-directory -j2 -C "$src"
is "$RC" 0 "make in the unpacked tarball: exit 0" || diag_run
run "$src/build/pamsh" --version
is "$RC ${OUT%%$'\n'*}" "0 pamsh $version" "the tarball's binary reports the version"
run "$src/build/pamsh" -e 'print(pam ~= nil and "pam loaded")'
is "$RC $OUT" "0 pam loaded" "the tarball's binary runs Lua with the pam module"

done_testing
