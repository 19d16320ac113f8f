// Issue 14's old box: the management network is an active-backup bond of two NICs with VLAN 100
// on top (IPv4 + static IPv6, a default route in each family), a third NIC is configured but not
// brought up at boot, an `operator` login the new OS does not ship, and a log archive on a second
// disk (a VG of its own, mounted by UUID). The old system is set up live as an administrator would,
// with iproute2, and its ifupdown files say the same thing; then `va-agent stage` runs.

import { execFileSync } from "node:child_process";
import type { Check, ProbeFacts } from "./probe-facts.ts";
import type { VmNic } from "./qemu.ts";

export const PORT_MACS = ["52:54:00:12:34:56", "52:54:00:12:34:57"] as const;
export const DISABLED_MAC = "52:54:00:12:34:58";
export const MORE_NICS: VmNic[] = [{ mac: PORT_MACS[1] }, { mac: DISABLED_MAC }];
export const LOG_DISK_BYTES = 256 * 2 ** 20;

const VLAN = { id: 100, ipv4: "192.0.2.10/24", gateway4: "192.0.2.1", ipv6: "2001:db8:100::10/64", gateway6: "2001:db8:100::1" };
const DNS = ["192.0.2.53", "2001:db8:100::53"];
const DISABLED_ADDRESS = "198.51.100.7/24";
const OPERATOR = { name: "operator", uid: 1500, password: "va-operator" };

/** Shell for the old system (bash, root), run before `va-agent stage`. Prints VA-OLD-* facts. */
export function managedNetworkSetup(): string[] {
  return [
    "name_of() { for d in /sys/class/net/*; do [ \"$(cat \"$d/address\")\" = \"$1\" ] && basename \"$d\"; done; }",
    `P1=$(name_of ${PORT_MACS[0]}); P2=$(name_of ${PORT_MACS[1]}); P3=$(name_of ${DISABLED_MAC})`,
    "echo \"VA-OLD-NICS [$P1 $P2 $P3]\"",
    "[ -n \"$P1\" ] && [ -n \"$P2\" ] && [ -n \"$P3\" ] || { echo 'VA-OLD-SETUP-FAILED: NICs'; exit 1; }",
    "modprobe bonding && modprobe 8021q || exit 1",
    "ip addr flush dev \"$P1\"; ip link set \"$P1\" down; ip link set \"$P2\" down",
    "ip link add bond0 type bond mode active-backup miimon 100",
    "ip link set \"$P1\" master bond0 && ip link set \"$P2\" master bond0 && ip link set bond0 up || exit 1",
    `ip link add link bond0 name bond0.${VLAN.id} type vlan id ${VLAN.id} && ip link set bond0.${VLAN.id} up || exit 1`,
    `ip addr add ${VLAN.ipv4} dev bond0.${VLAN.id} && ip -6 addr add ${VLAN.ipv6} dev bond0.${VLAN.id} nodad || exit 1`,
    `ip route replace default via ${VLAN.gateway4} dev bond0.${VLAN.id} && ip -6 route add default via ${VLAN.gateway6} dev bond0.${VLAN.id} || exit 1`,
    "cat > /etc/network/interfaces <<EOF",
    "source /etc/network/interfaces.d/*",
    "",
    "auto lo",
    "iface lo inet loopback",
    "",
    "auto $P1",
    "iface $P1 inet manual",
    "    bond-master bond0",
    "",
    "auto $P2",
    "iface $P2 inet manual",
    "    bond-master bond0",
    "",
    "auto bond0",
    "iface bond0 inet manual",
    "    bond-slaves $P1 $P2",
    "    bond-mode active-backup",
    "    bond-miimon 100",
    "    bond-primary $P1",
    "",
    `auto bond0.${VLAN.id}`,
    `iface bond0.${VLAN.id} inet static`,
    `    address ${VLAN.ipv4}`,
    `    gateway ${VLAN.gateway4}`,
    `    dns-nameservers ${DNS.join(" ")}`,
    "    dns-search example.test",
    `iface bond0.${VLAN.id} inet6 static`,
    `    address ${VLAN.ipv6}`,
    `    gateway ${VLAN.gateway6}`,
    "",
    "# spare uplink, configured but not brought up at boot",
    "iface $P3 inet static",
    `    address ${DISABLED_ADDRESS}`,
    "EOF",
    `printf 'search example.test\\n${DNS.map((server) => `nameserver ${server}`).join("\\n")}\\n' > /etc/resolv.conf`,
    // Debian's base-passwd has an `operator` group (gid 37), in the new OS too: the login's primary group
    `useradd -m -u ${OPERATOR.uid} -g operator -G adm -s /bin/bash ${OPERATOR.name} && echo '${OPERATOR.name}:${OPERATOR.password}' | chpasswd -c SHA512 || exit 1`,
    "echo \"VA-OLD-OPERATOR [$(getent shadow operator | cut -d: -f2)]\"",
    `LOGDISK=$(for d in /sys/block/vd*; do [ "$(cat "$d/size")" = ${LOG_DISK_BYTES / 512} ] && echo "/dev/\${d##*/}"; done)`,
    "[ -b \"$LOGDISK\" ] || { echo 'VA-OLD-SETUP-FAILED: log disk'; exit 1; }",
    "pvcreate -q \"$LOGDISK\" && vgcreate -q logs \"$LOGDISK\" && lvcreate -q -y -n archive -L 64M logs && mkfs.ext4 -q /dev/logs/archive || exit 1",
    "mkdir -p /srv/archive && echo \"UUID=$(blkid -s UUID -o value /dev/logs/archive) /srv/archive ext4 defaults 0 2\" >> /etc/fstab && mount /srv/archive || exit 1",
    "head -c 100000 /dev/urandom > /srv/archive/2024-01.log && sync",
    "echo \"VA-OLD-ARCHIVE [$(sha256sum /srv/archive/2024-01.log | cut -d' ' -f1)]\"",
    "ip -br addr; ip route; ip -6 route",
    // the default routes as the old box has them: QEMU's user network also sends router advertisements,
    // which the bond (no inet6 stanza: the kernel's defaults) accepts; give the first one a moment
    "for i in $(seq 20); do ip -6 route show default | grep -q 'proto ra' && break; sleep 1; done",
    "echo \"VA-OLD-ROUTE4 $(ip -j route show default)\"; echo \"VA-OLD-ROUTE6 $(ip -j -6 route show default)\"",
  ];
}

interface Link {
  ifname: string;
  address?: string;
  flags?: string[];
  master?: string;
  link?: string;
  linkinfo?: { info_kind?: string; info_data?: { mode?: string; id?: number }; info_slave_kind?: string; info_slave_data?: { perm_hwaddr?: string } };
}
interface Addr {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[];
}
interface Route {
  dst: string;
  gateway?: string;
  dev?: string;
}

export interface OldSetupFacts {
  operatorHash: string;
  archiveSha: string;
  defaultRoutes4: Route[];
  defaultRoutes6: Route[];
}

/** What the old system printed before stage: the operator's hash, the archive file's digest, its default routes. */
export function oldSetupFacts(serial: string): OldSetupFacts {
  const marker = (name: string) => new RegExp(`${name} \\[([^\\]]*)\\]`).exec(serial)?.[1] ?? "";
  const routes = (name: string): Route[] => {
    const json = new RegExp(`^${name} (\\[.*\\])\\s*$`, "m").exec(serial)?.[1];
    return json ? (JSON.parse(json) as Route[]) : [];
  };
  return { operatorHash: marker("VA-OLD-OPERATOR"), archiveSha: marker("VA-OLD-ARCHIVE"), defaultRoutes4: routes("VA-OLD-ROUTE4"), defaultRoutes6: routes("VA-OLD-ROUTE6") };
}

/** A default route as `gateway on device`: what must be the same before and after. */
const routeKeys = (routes: Route[]) => routes.map((r) => `${r.gateway ?? "-"} on ${r.dev ?? "-"}`).sort();

export function checkManagedNetwork(facts: ProbeFacts, old: OldSetupFacts): Check[] {
  const links = (facts["ip-link"] ?? []) as Link[];
  const addrs = (facts["ip-addr"] ?? []) as Addr[];
  const routes4 = (facts["ip-route"] ?? []) as Route[];
  const routes6 = (facts["ip-route6"] ?? []) as Route[];
  const bond = links.find((l) => l.linkinfo?.info_kind === "bond");
  const ports = links.filter((l) => bond && l.master === bond.ifname);
  const portMacs = ports.map((p) => p.linkinfo?.info_slave_data?.perm_hwaddr ?? p.address ?? "?").sort();
  const vlan = links.find((l) => l.linkinfo?.info_kind === "vlan");
  const onVlan = addrs.find((a) => a.ifname === vlan?.ifname)?.addr_info?.filter((a) => a.scope !== "link").map((a) => `${a.local}/${a.prefixlen}`) ?? [];
  const disabled = links.find((l) => (l.linkinfo?.info_slave_data?.perm_hwaddr ?? l.address) === DISABLED_MAC && !l.master);
  const disabledAddrs = addrs.find((a) => a.ifname === disabled?.ifname)?.addr_info?.filter((a) => a.scope !== "link") ?? [];
  const default4 = routes4.filter((r) => r.dst === "default");
  const default6 = routes6.filter((r) => r.dst === "default");
  const resolv = String(facts.resolv ?? "");
  const accounts = (facts.accounts ?? {}) as Record<string, { passwd: string; groups: string; login: string }>;
  const operator = accounts[OPERATOR.name];
  const shadow = (facts.shadow ?? {}) as Record<string, string>;
  const mounts = (facts.mounts ?? []) as { mountpoint: string; mounted: boolean; source: string }[];
  const archive = mounts.find((m) => m.mountpoint === "/srv/archive");
  const archiveFiles = (facts["archive-files"] ?? []) as { path: string; sha256: string }[];
  return [
    { name: `an active-backup bond of the NICs ${PORT_MACS.join(" and ")}`, ok: bond?.linkinfo?.info_data?.mode === "active-backup" && portMacs.join() === [...PORT_MACS].sort().join(), seen: bond ? `${bond.ifname} ${bond.linkinfo?.info_data?.mode} ports ${ports.map((p) => p.ifname).join(",")} (${portMacs.join(", ")})` : "no bond" },
    { name: `VLAN ${VLAN.id} on the bond`, ok: vlan?.linkinfo?.info_data?.id === VLAN.id && vlan.link === bond?.ifname, seen: vlan ? `${vlan.ifname} id ${vlan.linkinfo?.info_data?.id} on ${vlan.link}` : "no VLAN" },
    { name: `${VLAN.ipv4} and ${VLAN.ipv6} on the VLAN`, ok: onVlan.includes(VLAN.ipv4) && onVlan.includes(VLAN.ipv6), seen: onVlan.join(" ") || "none" },
    { name: `the IPv4 default routes of the old system (via ${VLAN.gateway4} on the VLAN)`, ok: sameRoutes(default4, old.defaultRoutes4, `${VLAN.gateway4} on ${vlan?.ifname}`), seen: `${routeKeys(default4).join(", ")} (old: ${routeKeys(old.defaultRoutes4).join(", ")})` },
    {
      name: `the IPv6 default routes of the old system (via ${VLAN.gateway6} on the VLAN, and what router advertisements give the bond)`,
      ok: sameRoutes(default6, old.defaultRoutes6, `${VLAN.gateway6} on ${vlan?.ifname}`),
      seen: `${routeKeys(default6).join(", ")} (old: ${routeKeys(old.defaultRoutes6).join(", ")})`,
    },
    { name: `the NIC configured without auto (${DISABLED_MAC}) stays down, without ${DISABLED_ADDRESS}`, ok: !!disabled && !disabled.flags?.includes("UP") && disabledAddrs.length === 0, seen: disabled ? `${disabled.ifname} flags ${disabled.flags?.join(",")} addresses ${disabledAddrs.map((a) => a.local).join(",") || "none"}` : "NIC not found" },
    { name: "both name servers (IPv4, IPv6) and the search domain", ok: DNS.every((s) => resolv.includes(`nameserver ${s}`)) && resolv.includes("example.test"), seen: resolv.replace(/\n/g, " | ") },
    { name: `${OPERATOR.name} (not in the new OS) created: uid ${OPERATOR.uid}, groups, home, login shell`, ok: !!operator && operator.passwd.startsWith(`${OPERATOR.name}:x:${OPERATOR.uid}:`) && operator.groups.split(" ").includes("adm") && operator.login === `${OPERATOR.name} in /home/${OPERATOR.name}`, seen: operator ? `${operator.passwd} | groups ${operator.groups} | ${operator.login}` : "no such account" },
    { name: `${OPERATOR.name}'s old password hash, and its password verifies against it`, ok: !!old.operatorHash && shadow[OPERATOR.name] === old.operatorHash && passwordMatches(OPERATOR.password, old.operatorHash), seen: `${String(shadow[OPERATOR.name]).slice(0, 12)}… (old ${old.operatorHash.slice(0, 12)}…)` },
    { name: "the second disk's log archive is mounted at /srv/archive again, its file intact", ok: !!archive?.mounted && archive.source.includes("logs") && archiveFiles.some((f) => f.sha256 === old.archiveSha), seen: archive ? `${archive.source} mounted=${archive.mounted}; ${archiveFiles.map((f) => `${f.path} ${f.sha256.slice(0, 12)}`).join(" ")}` : "no /srv/archive in fstab" },
  ];
}

/** The same default routes as the old box had, the static one among them (an empty old list proves nothing). */
function sameRoutes(now: Route[], before: Route[], staticOne: string): boolean {
  return before.length > 0 && routeKeys(now).join() === routeKeys(before).join() && routeKeys(now).includes(staticOne);
}

/** libcrypt on the host checks the password against the SHA-512 crypt hash, as PAM's pam_unix would. */
function passwordMatches(password: string, hash: string): boolean {
  const script = "print crypt($ARGV[0], $ARGV[1]) eq $ARGV[1] ? 'yes' : 'no'";
  return execFileSync("perl", ["-e", script, password, hash], { encoding: "utf8" }) === "yes";
}
