import { runAlone } from "./step-hooks.ts";
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { classifyFstab, parseFstab } from "../../agent/disk/fstab.ts";
import { VerificationError } from "../../agent/errors/errors.ts";
import { silentLog } from "../../agent/log/logger.ts";
import { defaultPaths } from "../../agent/paths.ts";
import { planMigration } from "../../agent/plan/plan.ts";
import { checkPayloadFstab } from "../../agent/preflight/payload-fstab-check.ts";
import { fixFilesystemUuids } from "../../agent/steps/fix-filesystem-uuids.ts";
import { FakeRunner } from "./fake-runner.ts";
import { BOOT_UUID } from "./fixtures/new-root.ts";
import { oldAppliance, referenceLayout, SHAPES, testManifest } from "./fixtures/shapes.ts";

/** A payload fstab with every kind of entry the tiny system cannot resolve, besides what the manifest creates. */
const FSTAB = `# the manifest's filesystems
/dev/mapper/VA-root  /      ext4  defaults 0 1
UUID=${BOOT_UUID}  /boot  ext4  defaults 0 2
/dev/mapper/VA-data  /data  ext4  defaults 0 2
# not created by the manifest
/swapfile  none  swap  sw  0 0
LABEL=backup  /backup  ext4  noauto  0 0
nas:/export  /mnt/nas  nfs  defaults  0 0
//server/share  /mnt/smb  cifs  credentials=/etc/smb.cred  0 0
me@host:/srv  /mnt/ssh  fuse.sshfs  defaults,_netdev  0 0
gluster1:/vol  /mnt/gluster  glusterfs  defaults  0 0
/dev/sr0  /media/cdrom  iso9660  noauto,ro,user  0 0
UUID=1234-ABCD  /media/usb  vfat  nofail  0 0
PARTUUID=6a2f9e4c-01  /mnt/old  ext4  nofail  0 0
/data/www  /var/www  none  bind  0 0
tmpfs  /tmp  tmpfs  size=512m  0 0
`;

const manifest = testManifest();
const plan = planMigration(manifest, referenceLayout(), oldAppliance(SHAPES["virtio, MBR+LVM centos, xfs root, disk equal to the layout"]!));
const created = plan.filesystems.flatMap((fs) => (fs.mountpoint ? [fs.mountpoint] : []));

describe("issue 13 item 5: the fstab check after the point of no return refuses entries it cannot resolve in the tiny system", () => {
  test("one rule for both checks: what the manifest creates, what is no device, what may be missing at boot", () => {
    const verdicts = classifyFstab(parseFstab(FSTAB), created);
    const kind = (mountpoint: string) => verdicts.find((v) => v.entry.mountpoint === mountpoint)?.kind;
    for (const mp of ["/", "/boot", "/data"]) expect(kind(mp)).toBe("created");
    for (const mp of ["/var/www", "/tmp"]) expect(kind(mp)).toBe("no-device");
    for (const mp of ["/backup", "/mnt/nas", "/mnt/smb", "/mnt/ssh", "/mnt/gluster", "/media/cdrom", "/media/usb", "/mnt/old"]) expect(kind(mp)).toBe("optional");
    expect(verdicts.find((v) => v.entry.spec === "/swapfile")?.kind).toBe("optional");
    expect(verdicts.filter((v) => v.kind === "required")).toEqual([]);
  });

  test("after the point of no return only what the manifest creates is checked: the others pass though nothing resolves them here", async () => {
    const dir = mkdtempSync(join(tmpdir(), "va-fstab-"));
    const paths = defaultPaths(join(dir, "run"), join(dir, "sysimage"));
    mkdirSync(join(paths.targetRoot, "etc"), { recursive: true });
    writeFileSync(join(paths.targetRoot, "etc/fstab"), FSTAB);
    const created = new Set(["/dev/mapper/VA-root", `UUID=${BOOT_UUID}`, "/dev/mapper/VA-data"]);
    const run = new FakeRunner().respond((argv) => {
      if (argv[0] !== "blkid") return undefined;
      if (argv[1] === "-s") return { stdout: `${BOOT_UUID}\n` };
      const spec = argv[1] === "--match-token" ? argv[2]! : argv[1]!;
      return created.has(spec) ? { stdout: "/dev/x\n" } : { status: 2 };
    });
    await runAlone(fixFilesystemUuids, { manifest, plan, paths, run, log: silentLog()});
    const looked = run.calls.filter((argv) => argv[0] === "blkid" && argv[1] !== "-s").map((argv) => argv.at(-1) === "device" ? argv[2] : argv[1]);
    expect(looked.sort()).toEqual([...created].sort());
  });

  test("an entry the manifest creates that does not resolve is still refused, with a hint true for a disk mid-migration", async () => {
    const dir = mkdtempSync(join(tmpdir(), "va-fstab-"));
    const paths = defaultPaths(join(dir, "run"), join(dir, "sysimage"));
    mkdirSync(join(paths.targetRoot, "etc"), { recursive: true });
    writeFileSync(join(paths.targetRoot, "etc/fstab"), "LABEL=wrong  /data  ext4  defaults 0 2\n");
    const run = new FakeRunner().respond((argv) => (argv[0] === "blkid" && argv[1] !== "-s" ? { status: 2 } : undefined));
    const error = await runAlone(fixFilesystemUuids, { manifest, plan, paths, run, log: silentLog()}).catch((e: unknown) => e as VerificationError);
    expect(error).toBeInstanceOf(VerificationError);
    expect(error!.message).toContain("LABEL=wrong (/data)");
    expect(error!.hint).toContain(join(paths.targetRoot, "etc/fstab"));
    expect(error!.hint).not.toMatch(/stage|rebuild/i);
  });

  test("stage's finding lists every entry that will not resolve; warnings only, since each may be missing at boot", () => {
    const check = checkPayloadFstab(FSTAB, manifest);
    expect(check.id).toBe("payload-fstab");
    expect(check.severity).toBe("warning");
    for (const spec of ["/swapfile", "LABEL=backup", "nas:/export", "//server/share", "me@host:/srv", "gluster1:/vol", "/dev/sr0", "UUID=1234-ABCD", "PARTUUID=6a2f9e4c-01"]) expect(check.finding).toContain(spec);
    for (const spec of ["VA-root", BOOT_UUID, "/data/www", "tmpfs"]) expect(check.finding).not.toContain(spec);
  });

  test("an entry the new system needs to boot that nothing creates is an inhibitor", () => {
    const check = checkPayloadFstab(`${FSTAB}LABEL=appdata  /srv/app  xfs  defaults  0 2\n`, manifest);
    expect(check.severity).toBe("inhibitor");
    expect(check.finding).toContain("LABEL=appdata (/srv/app: nothing the manifest creates)");
    expect(check.remedy).toContain("nofail");
  });

  test("no fstab in the payload, or every entry created: passed", () => {
    expect(checkPayloadFstab(undefined, manifest).severity).toBe("inhibitor");
    expect(checkPayloadFstab(`/dev/mapper/VA-root / ext4 defaults 0 1\nUUID=${BOOT_UUID} /boot ext4 defaults 0 2\n`, manifest).severity).toBe("ok");
  });
});
