import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ExitCode } from "../../agent/errors/errors.ts";
import { manifestDocument, oldAppliance, SHAPES } from "./fixtures/shapes.ts";

const MAIN = join(import.meta.dir, "../../agent/main.ts");
const LAYOUT = join(import.meta.dir, "fixtures/va-6g.sgdisk");

function agent(...args: string[]) {
  const result = spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function files(machine = oldAppliance(SHAPES["NVMe, MBR+LVM centos, xfs root, disk 3x the layout"]!), manifest: unknown = manifestDocument()) {
  const dir = mkdtempSync(join(tmpdir(), "va-cli-"));
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest));
  writeFileSync(join(dir, "machine.json"), JSON.stringify(machine));
  return { dir, manifest: join(dir, "manifest.json"), machine: join(dir, "machine.json") };
}

describe("va-agent command line", () => {
  test("--version and --help", () => {
    expect(agent("--version").stdout).toMatch(/^va-agent \S+\n$/);
    const help = agent("--help");
    expect(help.status).toBe(0);
    for (const command of ["migrate", "plan", "step NAME", "status"]) expect(help.stdout).toContain(`va-agent ${command}`);
  });

  test("offline plan prints every step and command for the probed disk", () => {
    const f = files();
    const result = agent("plan", "--manifest", f.manifest, "--layout", LAYOUT, "--machine", f.machine);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("target disk: /dev/nvme0n1 18.00 GiB (nvme); old VGs: centos");
    expect(result.stdout).toContain(" 2. check-payload-archive: ");
    expect(result.stdout).toContain("  archive    : checked at stage");
    expect(result.stdout).toContain(" 4. wipe-old-system [POINT OF NO RETURN]");
    expect(result.stdout).toContain("+ sgdisk --move-second-header /dev/nvme0n1");
    expect(result.stdout).toContain("+ lvm pvcreate --force --force --yes --dataalignment 1m /dev/nvme0n1p3");
    expect(result.stdout).toContain("window A   : open (a power cut before the resume store is ready needs manual recovery): the staged files were not mapped to disk sectors");
  });

  test("errors carry a next step and a distinct exit code", () => {
    const usage = agent("frobnicate");
    expect(usage.status).toBe(ExitCode.usage);
    expect(usage.stderr).toContain("next: Run `va-agent --help`");

    const bad = { ...manifestDocument(), version: 7 };
    const f = files(undefined, bad);
    const manifest = agent("plan", "--manifest", f.manifest, "--layout", LAYOUT, "--machine", f.machine);
    expect(manifest.status).toBe(ExitCode.manifest);
    expect(manifest.stderr).toContain("version: must be 1");

    const small = files(oldAppliance({ ...SHAPES["virtio, MBR+LVM centos, xfs root, disk equal to the layout"]!, diskBytes: 4 * 1024 ** 3 }));
    const layout = agent("plan", "--manifest", small.manifest, "--layout", LAYOUT, "--machine", small.machine);
    expect(layout.status).toBe(ExitCode.layout);
    expect(layout.stderr).toContain("next: Grow the appliance's virtual disk");
  });

  test("migrate refuses to run on a system whose root is on disk", () => {
    const result = agent("migrate", "--work-dir", mkdtempSync(join(tmpdir(), "va-work-")));
    expect(result.status).toBe(ExitCode.preflight);
    expect(result.stderr).toContain("refusing to migrate");
  });

  test("status without a journal says so", () => {
    const result = agent("status", "--work-dir", mkdtempSync(join(tmpdir(), "va-work-")), "--target-root", "/nonexistent");
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("no migration journal found");
  });
});
