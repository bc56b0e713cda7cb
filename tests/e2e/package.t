#!/usr/bin/env bash
# make deb: the package's control fields (Depends computed from what the
# binary links), its contents, no maintainer scripts, the conffile; then
# unpacked into a temporary root (dpkg -x), the installed binary runs; and
# lintian has nothing to say, where lintian is installed (make deps
# installs it).
. "$(dirname "$0")/../setup"

command -v dpkg-deb >/dev/null && command -v dpkg-buildflags >/dev/null ||
  skip_all "no dpkg-deb/dpkg-buildflags (make deps installs dpkg-dev)"
unset MAKEFLAGS MAKELEVEL MFLAGS
run --timeout 600 make --no-print-directory -C "$TOP" deb
is "$RC" 0 "make deb: exit 0" || { diag_run; done_testing; }
deb=$TOP/$(tail -n 1 <<<"$OUT")
version=$(make --no-print-directory -s -C "$TOP" version)
re_version=$(sed 's/[][\.*^$+?(){}|]/\\&/g' <<<"$version")   # for like
arch=$(dpkg --print-architecture)
is "${deb##*/}" "pamsh_${version}_$arch.deb" "named pamsh_<version>_<arch>.deb"
[[ -f $deb ]]
ok $? "the .deb exists" || { done_testing; }

# ------------------------------------------------------------ control
field() { dpkg-deb -f "$deb" "$1"; }
is "$(field Package)" pamsh "Package: pamsh"
is "$(field Version)" "$version" "Version: the build's version"
is "$(field Architecture)" "$arch" "Architecture: this machine's"
like "$(field Maintainer)" "^[^<>]+ <[^@ ]+@[^> ]+>$" "Maintainer: a name and an address"
desc=$(field Description) synopsis=${desc%%$'\n'*}
((${#synopsis} >= 10 && ${#synopsis} < 80)) && [[ $desc == *$'\n '?* ]]
ok $? "Description: a synopsis under 80 characters and a long description"
[[ $(field Installed-Size) =~ ^[0-9]+$ ]]
ok $? "Installed-Size is a number"

# Depends: one package for each library the binary links, at least the
# version it was built against
depends=$(field Depends)
note "Depends: $depends"
for p in libc6 libcurl4 libinih1 libssl3; do
  like "$depends" "(^|, )$p \(>= [0-9][^)]*\)(,|$)" "Depends: $p (>= version)"
done
bin=$TOP/build/deb/build/pamsh
missing=
for lib in $(objdump -p "$bin" | awk '$1 == "NEEDED" { print $2 }'); do
  path=$(ldd "$bin" | awk -v l="$lib" '$1 == l { print $3 }')
  owner=
  for p in "$path" "/usr$path" "${path#/usr}" "$(readlink -f "$path")"; do
    owner=$(dpkg-query -S "$p" 2>/dev/null | sed -n '1{s/[:,].*//;p;}')
    [[ -n $owner ]] && break
  done
  [[ $depends == *"$owner ("* ]] || missing+=" $lib($owner)"
done
is "$missing" "" "every library the binary links is covered by Depends"
if objdump -p "$bin" | grep -q 'NEEDED.*libedit'; then
  like "$depends" "(^|, )libedit2 \(>= " "linked with libedit: Depends: libedit2"
else
  unlike "$depends" "libedit" "not linked with libedit: no libedit2"
fi
unlike "$depends" "liblua|lua-cjson" "Lua and lua-cjson are linked statically: no dependency"

mkdir -p "$TMP/control"
dpkg-deb -e "$deb" "$TMP/control"
is "$(cd "$TMP/control" && ls | LC_ALL=C sort | tr '\n' ' ')" "conffiles control md5sums " \
  "control area: control, conffiles, md5sums; no maintainer scripts"
is "$(cat "$TMP/control/conffiles")" "/etc/pamsh/config" "/etc/pamsh/config is a conffile"

# ------------------------------------------------------------ contents
got=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { print $NF }' | sed 's|^\./|/|' | LC_ALL=C sort)
want="/etc/pamsh/config
/lib/systemd/system/pamsh-job@.service
/lib/systemd/system/pamsh-job@.timer
/usr/bin/pamsh
/usr/share/bash-completion/completions/pamsh
/usr/share/doc/pamsh/changelog.gz
/usr/share/doc/pamsh/copyright
/usr/share/man/man1/pamsh.1.gz
/usr/share/man/man7/pamsh-lua.7.gz
/usr/share/pamsh/examples/config
/usr/share/pamsh/examples/pamsh.cron"
for s in "$TOP"/scripts/*.lua; do want+=$'\n'"/usr/share/pamsh/scripts/${s##*/}"; done
is "$got" "$(LC_ALL=C sort <<<"$want")" "contents: binary, man pages, completion, units, scripts, config, docs"
unlike "$(dpkg-deb -c "$deb" | awk '{ print $2 }' | sort -u)" "^[^r]|/[^r]" "every file owned by root:root"

root=$TMP/root
dpkg -x "$deb" "$root"
(cd "$root" && md5sum --quiet -c "$TMP/control/md5sums") >"$TMP/md5" 2>&1
ok $? "md5sums match the files" || diag "$(cat "$TMP/md5")"

# ------------------------------------------------------------ the installed binary
p=$root/usr/bin/pamsh
run "$p" --version
is "$RC ${OUT%%$'\n'*}" "0 pamsh $version" "installed pamsh --version: the package's version"
like "$OUT" $'^pamsh '"$re_version"$'\nLua 5\\.4.*\nlibcurl .*TLS: .*\nlua-cjson ' \
  "installed pamsh --version: pamsh, Lua, libcurl, TLS, cjson"
version_out=$OUT
run "$p" version
is "$RC $OUT" "0 $version_out" "installed pamsh version: the same as --version"
run "$p" --help
like "$RC $OUT" "^0 usage: pamsh" "installed pamsh --help"
run "$p" -e 'print(1 + 1, pam ~= nil, cjson ~= nil)'
is "$RC $OUT" "0 2	true	true" "installed pamsh runs a chunk, with pam and cjson"
run "$p" --config "$root/etc/pamsh/config" -e 'print(require("pam.core").settings().url)'
is "$RC $OUT" "0 nil" "the shipped /etc/pamsh/config parses and sets nothing"
run readelf -W -S "$p"
unlike "$OUT" "\.symtab" "the binary is stripped"
run readelf -W -d -l "$p"
like "$OUT" "GNU_RELRO" "hardening: RELRO"
like "$OUT" "BIND_NOW|FLAGS.*NOW" "hardening: BIND_NOW"
run readelf -W --dyn-syms "$p"
like "$OUT" "__stack_chk_fail" "hardening: stack protector"

like "$(grep '^ExecStart=' "$root/lib/systemd/system/pamsh-job@.service")" "^ExecStart=/usr/bin/pamsh " \
  "the service runs /usr/bin/pamsh"
for m in "$root/usr/share/man/man1/pamsh.1.gz" "$root/usr/share/man/man7/pamsh-lua.7.gz"; do
  run bash -c 'zcat "$1" | LC_ALL=C.UTF-8 groff -ww -z -mandoc -Tutf8' x "$m"
  is "$RC $ERR" "0 " "${m##*/} renders without a warning"
done
run bash -n "$root/usr/share/bash-completion/completions/pamsh"
is "$RC" 0 "the completion script is valid bash"
run bash -c 'zcat "$1" | head -n 1' x "$root/usr/share/doc/pamsh/changelog.gz"
is "$OUT" "pamsh ($version) unstable; urgency=medium" "the changelog names this version"

# ------------------------------------------------------------ lintian
if command -v lintian >/dev/null; then
  # (as root, lintian says on stderr that it had rather not be)
  run --timeout 300 lintian --fail-on error,warning,info --display-info "$deb"
  is "$RC" 0 "lintian: no error, no warning, no info tag" || diag_run
  unlike "$OUT" "[EWI]: pamsh" "lintian: nothing to say" || diag_run
  note "lintian: ${OUT:-nothing to say}"
else
  skip "lintian" "lintian not installed (make deps installs it)"
fi

done_testing
