#!/bin/sh
# Installs the stratus preparation kit into a guest's root tree: the
# contextualization script and the first-boot script in /usr/sbin, run at
# boot by systemd units where the tree uses systemd, and from /etc/rc.local
# otherwise (or too, with --rc-local). It also makes the tree ready to be
# published: the first-boot marker and the SSH host keys are removed, so
# that each instance randomises its own root password and makes its own
# host keys.
#
# usage: install.sh [--rc-local] [ROOT]   (ROOT defaults to /, the running system)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
rc_local=no
if [ "${1:-}" = --rc-local ]; then
    rc_local=yes
    shift
fi
root=${1:-/}
root=${root%/}

say() { printf 'stratus-kit: %s\n' "$*"; }

for file in stratus-context stratus-firstboot rc.local.fragment \
    stratus-context.service stratus-firstboot.service; do
    [ -f "$here/$file" ] || { echo "install.sh: $here/$file is missing" >&2; exit 1; }
done
mkdir -p "$root/usr/sbin"
for script in stratus-context stratus-firstboot; do
    cp "$here/$script" "$root/usr/sbin/$script.new"
    chmod 755 "$root/usr/sbin/$script.new"
    mv "$root/usr/sbin/$script.new" "$root/usr/sbin/$script"
done
say "installed /usr/sbin/stratus-context and /usr/sbin/stratus-firstboot"

uses_systemd=no
for init in "$root/sbin/init" "$root/usr/sbin/init"; do
    if [ -L "$init" ]; then
        case $(readlink "$init") in
            *systemd*) uses_systemd=yes ;;
        esac
    fi
done
[ -d "$root/etc/systemd/system" ] && [ -d "$root/lib/systemd/system" ] \
    && [ "$uses_systemd" = no ] && [ -x "$root/lib/systemd/systemd" ] && uses_systemd=yes

if [ "$uses_systemd" = yes ]; then
    units=$root/etc/systemd/system
    mkdir -p "$units/multi-user.target.wants"
    for unit in stratus-firstboot.service stratus-context.service; do
        cp "$here/$unit" "$units/$unit"
        chmod 644 "$units/$unit"
        ln -sf "../$unit" "$units/multi-user.target.wants/$unit"
    done
    say "enabled the systemd units stratus-firstboot and stratus-context"
fi

if [ "$uses_systemd" = no ] || [ "$rc_local" = yes ]; then
    rc=$root/etc/rc.local
    new=$rc.stratus.$$
    if [ -f "$rc" ]; then
        # Drop an earlier copy of the fragment, then put it before the
        # script's final `exit 0` (or at its end).
        awk '
            /^# stratus: first-boot preparation/ { skip = 1 }
            !skip { lines[++n] = $0 }
            /^# end of stratus/ { skip = 0 }
            END {
                last = n
                while (last > 0 && lines[last] ~ /^[[:space:]]*$/) last--
                if (last > 0 && lines[last] ~ /^[[:space:]]*exit[[:space:]]+0[[:space:]]*$/) exit_at = last
                for (i = 1; i <= n; i++) {
                    if (i == exit_at) { while ((getline line < FRAGMENT) > 0) print line }
                    print lines[i]
                }
                if (!exit_at) { while ((getline line < FRAGMENT) > 0) print line }
            }' FRAGMENT="$here/rc.local.fragment" "$rc" > "$new"
    else
        { printf '#!/bin/sh\n'; cat "$here/rc.local.fragment"; printf 'exit 0\n'; } > "$new"
    fi
    chmod 755 "$new"
    mv "$new" "$rc"
    say "added the kit to /etc/rc.local"
fi

# Ready to publish: nothing of this tree's own boots carries over.
rm -f "$root/var/lib/stratus/firstboot.done"
rm -f "$root"/etc/ssh/ssh_host_*_key "$root"/etc/ssh/ssh_host_*_key.pub \
    "$root"/etc/dropbear/dropbear_*_host_key
say "first-boot marker and SSH host keys cleared"
