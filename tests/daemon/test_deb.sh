#!/bin/bash
# test_deb.sh - `make deb`: cidlb_VERSION_ARCH.deb and cidlb-dev, lintian
# finds no error in them; installed with dpkg into an empty root (its own
# dpkg database): every file where the package says, with its mode,
# /etc/cidlb/cidlb.conf a conffile, /etc/cidlb/keys 0700, each dependency
# a package this host has; the installed cidlbd (defaults for /usr) and
# cidlb then run in a namespace and forward to a backend; removal and
# purge leave nothing behind.
# test-timeout: 600
source "$(dirname "$0")/lib.sh"
for t in dpkg-deb dpkg-shlibdeps lintian scdoc; do
	command -v $t >/dev/null || { echo "SKIP: $t is not installed (tools/install-deps)"; exit 77; }
done
VERSION=$(sed -n 's/^VERSION *:= *//p' Makefile)
ARCH=$(dpkg --print-architecture)
DEB=$ROOT/$BUILD/deb/cidlb_${VERSION}_$ARCH.deb
DEV=$ROOT/$BUILD/deb/cidlb-dev_${VERSION}_$ARCH.deb

rm -f "$DEB" "$DEV"
make --no-print-directory BUILD="$BUILD" deb >"$T/make.log" 2>&1 ||
	{ echo "make deb failed:"; tail -30 "$T/make.log"; exit 1; }
[ -f "$DEB" ] && [ -f "$DEV" ] && ok || { bad "make deb made no $DEB and $DEV"; finish; }

# lintian: no error (warnings are printed)
lintian --no-cfg --fail-on error "$DEB" "$DEV" >"$T/lintian.out" 2>&1
eq "lintian: exit" 0 $?
cat "$T/lintian.out"
eq "lintian: no error" "" "$(grep '^E:' "$T/lintian.out")"

# fields
field() { dpkg-deb -f "$1" "$2"; }
eq "package" "cidlb $VERSION $ARCH" "$(field "$DEB" Package) $(field "$DEB" Version) $(field "$DEB" Architecture)"
eq "dev package" "cidlb-dev $VERSION" "$(field "$DEV" Package) $(field "$DEV" Version)"
eq "dev depends on cidlb" "cidlb (= $VERSION)" "$(field "$DEV" Depends | tr ',' '\n' | grep '^cidlb ')"
deps=$(field "$DEB" Depends | tr ',' '\n' | sed 's/^ *//; s/ .*//')
for p in libbpf1 libxdp1 libc6 libssl3 libjansson4 libinih1 libmicrohttpd12; do
	printf '%s\n' $deps | grep -qx "$p" && ok || bad "Depends lacks $p: $(field "$DEB" Depends)"
done
for p in $deps; do
	dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' && ok ||
		bad "dependency $p is no package installed here"
done
eq "conffiles" "/etc/cidlb/cidlb.conf" "$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles)"

# install both into an empty root with its own dpkg database (the
# dependencies are the host's: checked above)
R=$T/root
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates"
: >"$R/var/lib/dpkg/status"
DPKG="dpkg --root=$R --force-depends --force-not-root --log=/dev/null"
$DPKG -i "$DEB" "$DEV" >"$T/dpkg.log" 2>&1
eq "dpkg -i: exit" 0 $?
dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Status}\n' cidlb cidlb-dev >"$T/st" 2>&1
eq "status in the root's database" "install ok installed
install ok installed" "$(cat "$T/st")"
eq "conffile registered" "/etc/cidlb/cidlb.conf" \
	"$(dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Conffiles}\n' cidlb | awk 'NF { print $1 }')"

# mode TYPE OWNER PATH: as stat prints them
mode() { # WANT PATH
	local got
	got=$(stat -c '%a %U:%G %F' "$R$2" 2>&1)
	if [ "$got" = "$1" ]; then ok; else bad "$2: want '$1', got '$got'"; fi
}
mode "755 root:root regular file" /usr/sbin/cidlbd
mode "755 root:root regular file" /usr/bin/cidlb
mode "644 root:root regular file" /usr/lib/cidlb/cidlb.bpf.o
mode "644 root:root regular file" /usr/lib/cidlb/cidlb_decap.bpf.o
mode "644 root:root regular file" /usr/lib/libcidlb.so.0
mode "755 root:root directory" /etc/cidlb
mode "700 root:root directory" /etc/cidlb/keys
mode "644 root:root regular file" /etc/cidlb/cidlb.conf
mode "644 root:root regular file" /lib/systemd/system/cidlbd.service
mode "644 root:root regular file" /usr/share/man/man8/cidlb.8.gz
mode "644 root:root regular file" /usr/share/man/man8/cidlbd.8.gz
mode "644 root:root regular file" /usr/share/man/man5/cidlb.conf.5.gz
mode "644 root:root regular file" /usr/share/bash-completion/completions/cidlb
mode "644 root:root regular file" /usr/share/doc/cidlb/copyright
mode "644 root:root regular file" /usr/share/doc/cidlb/operations.md
mode "644 root:root regular file" /usr/share/doc/cidlb/fleet.md
mode "644 root:root regular file" /usr/share/doc/cidlb/examples/bird/cidlb-lb.conf
mode "644 root:root regular file" /usr/include/cidlb/cidlb.h
mode "644 root:root regular file" /usr/lib/libcidlb.a
mode "644 root:root regular file" /usr/lib/pkgconfig/cidlb.pc
eq "libcidlb.so" "libcidlb.so.0" "$(readlink "$R/usr/lib/libcidlb.so")"
cmp -s "$R/usr/lib/cidlb/cidlb.bpf.o" "$ROOT/$BUILD/deb/build/cidlb.bpf.o" && ok ||
	bad "the packaged cidlb.bpf.o is not the one built"
# the unit runs the packaged daemon; the configuration is valid
grep_in "unit ExecStart" '^ExecStart=/usr/sbin/cidlbd -c /etc/cidlb/cidlb.conf --keep$' \
	"$R/lib/systemd/system/cidlbd.service"
[ -z "$(grep -n /usr/local "$R/lib/systemd/system/cidlbd.service" "$R/etc/cidlb/cidlb.conf")" ] &&
	ok || bad "/usr/local in the unit or configuration"
expect_rc "packaged cidlb.conf is valid" 0 "$R/usr/bin/cidlb" config check --no-system \
	"$R/etc/cidlb/cidlb.conf"
# binaries for /usr: their default object is the packaged one
grep_in "cidlbd's default object" "else /usr/lib/cidlb/cidlb.bpf.o," \
	<("$R/usr/sbin/cidlbd" --help)
grep_in "cidlb decap's default object" "/usr/lib/cidlb/cidlb_decap.bpf.o" \
	<("$R/usr/bin/cidlb" decap help)
expect_rc "man page renders" 0 man -l "$R/usr/share/man/man5/cidlb.conf.5.gz"
grep_in "cidlb.conf(5) keys" "dcache_size" "$T/out"
# a program builds against the -dev package's pkg-config file
cat >"$T/use.c" <<'EOC'
#include <cidlb/cidlb.h>
int main(void) { struct cidlb_cid_params p = { .server_id_len = 2, .nonce_len = 6 }; return p.nonce_len != 6; }
EOC
expect_rc "cc with pkg-config cidlb" 0 sh -c "PKG_CONFIG_SYSROOT_DIR=$R PKG_CONFIG_LIBDIR=$R/usr/lib/pkgconfig \
	cc -o $T/use $T/use.c \$(PKG_CONFIG_SYSROOT_DIR=$R PKG_CONFIG_LIBDIR=$R/usr/lib/pkgconfig \
	pkg-config --cflags --libs --static cidlb) && $T/use"

# the installed daemon and command run: forward to b1
net_setup
CIDLBD=$R/usr/sbin/cidlbd CIDLB=$R/usr/bin/cidlb
write_conf 1
sed -i "s|^bpf_object = .*|bpf_object = $R/usr/lib/cidlb/cidlb.bpf.o|" "$T/cidlb.conf"
start_daemon
send --flow "$(cid_of 1 0a0a0a0a0a0a)@49001" --count 5 >/dev/null
b1_packets() { lbc -j backend list | jget '[b["packets"] for b in d if b["name"] == "b1"][0]'; }
wait_eq "the packaged cidlbd forwards to b1" 5 b1_packets
grep_in "it loaded the packaged object" "$R/usr/lib/cidlb/cidlb.bpf.o" <(lbc status; cat "$T/daemon.log")
stop_daemon

# remove, then purge: nothing of the packages is left
$DPKG -r cidlb-dev >"$T/dpkg.log" 2>&1
eq "dpkg -r cidlb-dev" 0 $?
$DPKG -P cidlb >>"$T/dpkg.log" 2>&1
eq "dpkg -P cidlb" 0 $?
left=$(cd "$R" && find . -path ./var -prune -o -type f -print -o -type l -print)
eq "files left after purge" "" "$left"
finish
