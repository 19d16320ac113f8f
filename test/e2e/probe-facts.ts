// Reads the facts the test-only probe unit of the new system printed on the serial console and
// judges them: each fact a named check with what was seen.

export type ProbeFacts = Record<string, unknown>;

export function parseProbeFacts(serial: string): ProbeFacts {
  const facts: ProbeFacts = {};
  for (const line of serial.replace(/\r/g, "").split("\n")) {
    const match = /VA-PROBE (\S+) (.*)$/.exec(line);
    if (!match || match[1] === "END") continue;
    try {
      facts[match[1]!] = JSON.parse(match[2]!);
    } catch {
      facts[match[1]!] = match[2];
    }
  }
  return facts;
}

export interface Check {
  name: string;
  ok: boolean;
  seen: string;
}

interface Lv {
  lv_name: string;
  vg_name: string;
  lv_size: string;
}
interface Mount {
  spec: string;
  mountpoint: string;
  mounted: boolean;
  source: string;
}

export interface Expectations {
  /** The data LV must be larger than this many bytes (the LVM partition grew on a larger disk). */
  minDataBytes: number;
  diskBus: string;
}

export function checkNewSystem(facts: ProbeFacts, serial: string, expect: Expectations): Check[] {
  const osRelease = facts["os-release"] as { ID?: string; VERSION_ID?: string; PRETTY_NAME?: string } | undefined;
  const lvs = ((facts.lvs as { report?: { lv: Lv[] }[] } | undefined)?.report?.[0]?.lv ?? []) as Lv[];
  const mounts = (facts.mounts ?? []) as Mount[];
  const bootUuid = facts["boot-uuid"] as { fstab?: string; actual?: string } | undefined;
  const files = (facts.kernel ?? []) as string[];
  const result = facts.result as { outcome?: string; disk?: string } | null | undefined;
  const data = lvs.find((lv) => lv.lv_name === "data");
  return [
    check("booted through SeaBIOS and the new GRUB", /GNU GRUB|Booting `Debian/.test(serial), grubLine(serial)),
    check("os-release is Debian 13", osRelease?.ID === "debian" && osRelease.VERSION_ID === "13", JSON.stringify(osRelease)),
    check("VG VA has root, back, data", ["root", "back", "data"].every((name) => lvs.some((lv) => lv.lv_name === name && lv.vg_name === "VA")), lvs.map((lv) => `${lv.vg_name}/${lv.lv_name}=${lv.lv_size}`).join(" ")),
    check(`data LV larger than ${expect.minDataBytes} bytes`, Boolean(data) && Number.parseInt(data!.lv_size, 10) > expect.minDataBytes, data?.lv_size ?? "none"),
    check("every fstab entry mounted", mounts.length >= 3 && mounts.every((m) => m.mounted), mounts.map((m) => `${m.mountpoint}:${m.mounted ? m.source : "NOT MOUNTED"}`).join(" ")),
    check("/boot UUID equals fstab's", Boolean(bootUuid?.fstab) && bootUuid?.fstab === bootUuid?.actual, JSON.stringify(bootUuid)),
    check("kernel and initramfs present", files.some((f) => f.includes("vmlinuz-")) && files.some((f) => /initrd\.img-|initramfs-/.test(f)), files.join(" ")),
    check("agent result record says migrated", result?.outcome === "migrated", JSON.stringify(result)),
  ];
}

function check(name: string, ok: boolean, seen: string): Check {
  return { name, ok, seen };
}

function grubLine(serial: string): string {
  return serial.split("\n").find((line) => /GNU GRUB|Booting `/.test(line))?.trim().slice(0, 80) ?? "no GRUB output on serial";
}
