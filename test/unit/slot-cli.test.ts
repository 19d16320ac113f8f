import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { slotCommand, type SlotCliDeps } from "../../agent/cli/slot.ts";
import { ExitCode, SlotError, UsageError } from "../../agent/errors/errors.ts";
import { FAILED_UNITS_ARGV, MULTI_USER_ARGV } from "../../agent/slots/health-check.ts";
import { fileSlotStore } from "../../agent/slots/slot-store.ts";
import { FakeRunner } from "./fake-runner.ts";
import { bootDirWith, env, migratedBox, NOW, twoReleaseBox } from "./slot-fixture.ts";

const MAIN = join(import.meta.dir, "../../agent/main.ts");

function cli(cmdline = "root=/dev/mapper/va-root ro va.slot=A panic=10", run = new FakeRunner()) {
  const out: string[] = [];
  const warnings: string[] = [];
  const deps: SlotCliDeps = { runner: () => run, cmdline: () => cmdline, now: () => new Date(NOW), write: (text) => out.push(text), warn: (text) => warnings.push(text) };
  return { run, out, warnings, slot: (...argv: string[]) => slotCommand(argv, deps), text: () => out.join("") };
}

function agent(...args: string[]) {
  const result = spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("va-agent slot, in process (tmp boot dir, fake runner)", () => {
  test("status, text and --json", async () => {
    const dir = bootDirWith(twoReleaseBox());
    const c = cli();
    expect(await c.slot("status", "--boot-dir", dir)).toBe(0);
    expect(c.text()).toContain("booted    : slot A\nnext boot : slot A\n");
    const j = cli();
    await j.slot("status", "--json", `--boot-dir=${dir}`);
    const report = JSON.parse(j.text());
    expect(report).toMatchObject({ ok: true, command: "status", booted: "A", primary: "A" });
    expect(report.slots[1]).toMatchObject({ name: "B", release: "13.0", good: true, triesLeft: 3 });
  });

  test("mark-good of the booted slot (what the commit unit runs): written, told, no command run", async () => {
    const dir = bootDirWith({ ...migratedBox(), env: env("A B", { A: [true, 1], B: [false, 0] }) });
    const c = cli();
    expect(await c.slot("mark-good", "--boot-dir", dir)).toBe(0);
    expect(c.text()).toBe("slot A (va-demo 13.0) marked good; next boot: slot A (va-demo 13.0), try 1 of 3\n");
    expect(fileSlotStore(dir).read().env.tries.A).toBe(0);
    expect(c.run.calls).toEqual([]);
  });

  test("mark-bad --reason --reboot: written, then systemctl reboot through the runner", async () => {
    const dir = bootDirWith(twoReleaseBox());
    const c = cli("va.slot=A");
    expect(await c.slot("mark-bad", "--reason", "health check failed", "--reboot", "--boot-dir", dir)).toBe(0);
    expect(c.text()).toBe("slot A marked bad (health check failed); next boot: slot B (va-demo 13.0), try 1 of 3; rebooting now\n");
    expect(fileSlotStore(dir).read().metadata.slots.A.badReason).toBe("health check failed");
    expect(c.run.calls).toEqual([["systemctl", "reboot"]]);
  });

  test("fall-back with a good other slot: the booted slot is marked bad, then the box reboots into the other one", async () => {
    const dir = bootDirWith(twoReleaseBox());
    const c = cli("va.slot=A");
    expect(await c.slot("fall-back", "--reason", "health check failed", "--boot-dir", dir)).toBe(0);
    const after = fileSlotStore(dir).read();
    expect([after.env.ok.A, after.metadata.slots.A.badReason]).toEqual([false, "health check failed"]);
    expect(c.run.calls).toEqual([["systemctl", "reboot"]]);
  });

  test("fall-back on the only good slot (just migrated, B empty): nothing changes, no reboot; its try stays counted", async () => {
    const box = migratedBox();
    const dir = bootDirWith({ ...box, env: { ...box.env, tries: { A: 1, B: 0 } } });
    const c = cli("va.slot=A");
    expect(await c.slot("fall-back", "--boot-dir", dir)).toBe(0);
    expect(c.text()).toContain("staying on slot A, not committed");
    const after = fileSlotStore(dir).read();
    expect([after.env.ok.A, after.env.tries.A, after.metadata.slots.A.badReason]).toEqual([true, 1, null]);
    expect(c.run.calls).toEqual([]);
  });

  test("mark-bad --reboot reboots even when the state cannot be written (GRUB's try count falls back by itself)", async () => {
    const c = cli("va.slot=A");
    await expect(c.slot("mark-bad", "--reboot", "--boot-dir", mkdtempSync(join(tmpdir(), "va-slot-none-")))).rejects.toThrow("this box has no slot boot setup");
    expect(c.run.calls).toEqual([["systemctl", "reboot"]]);
    expect(c.warnings.join("")).toContain("rebooting anyway");
  });

  test("activate and rollback: refusals are SlotErrors (exit 16) with next:, and --json prints them", async () => {
    const dir = bootDirWith(migratedBox());
    await expect(cli().slot("activate", "B", "--boot-dir", dir)).rejects.toBeInstanceOf(SlotError);
    const j = cli();
    expect(await j.slot("rollback", "--json", "--boot-dir", dir)).toBe(ExitCode.slot);
    expect(JSON.parse(j.text())).toMatchObject({ ok: false, command: "rollback", error: { kind: "slot", exitCode: 16, details: { refusal: "slot-empty", slot: "B" } } });
    const two = bootDirWith(twoReleaseBox());
    const c = cli();
    expect(await c.slot("rollback", "--boot-dir", two)).toBe(0);
    expect(c.text()).toContain("next boot: slot B (va-demo 13.0)");
    const act = cli();
    expect(await act.slot("activate", "root", "--json", "--boot-dir", two)).toBe(0);
    expect(JSON.parse(act.text())).toMatchObject({ ok: true, slot: "A", status: { primary: "A" } });
  });

  test("not booted through the slot menu: mark-good without a slot is refused, with a named slot it works", async () => {
    const dir = bootDirWith(migratedBox());
    await expect(cli("root=/dev/sda2 ro").slot("mark-good", "--boot-dir", dir)).rejects.toThrow("not booted through the slot menu");
    expect(await cli("root=/dev/sda2 ro").slot("mark-good", "A", "--boot-dir", dir)).toBe(0);
    const rescue = cli("va.mode=rescue");
    await rescue.slot("status", "--boot-dir", dir);
    expect(rescue.text()).toContain("booted    : the rescue system");
  });

  test("--cmdline FILE stands in for /proc/cmdline", async () => {
    const dir = bootDirWith(twoReleaseBox());
    const file = join(dir, "cmdline");
    writeFileSync(file, "root=/dev/mapper/va-back ro va.slot=B\n");
    const c = cli("va.slot=A");
    await c.slot("status", "--json", "--boot-dir", dir, "--cmdline", file);
    expect(JSON.parse(c.text()).booted).toBe("B");
  });

  test("health-check: healthy, and failed units named with a nonzero exit", async () => {
    const healthy = new FakeRunner().respond((argv) => (argv.join(" ") === MULTI_USER_ARGV.join(" ") ? { stdout: "active\n" } : undefined));
    const ok = cli(undefined, healthy);
    expect(await ok.slot("health-check")).toBe(0);
    expect(healthy.calls).toEqual([[...FAILED_UNITS_ARGV], [...MULTI_USER_ARGV]]);

    const sick = new FakeRunner().respond((argv) => {
      if (argv.join(" ") === FAILED_UNITS_ARGV.join(" ")) return { stdout: "nginx.service loaded failed failed A high performance web server\n● va-data.mount loaded failed failed /data\n" };
      if (argv.join(" ") === MULTI_USER_ARGV.join(" ")) return { stdout: "active\n" };
      return undefined;
    });
    await expect(cli(undefined, sick).slot("health-check")).rejects.toThrow("health check failed: failed units: nginx.service, va-data.mount");
    const j = cli(undefined, sick);
    expect(await j.slot("health-check", "--json")).toBe(16);
    expect(JSON.parse(j.text()).error.details).toMatchObject({ healthy: false, failedUnits: ["nginx.service", "va-data.mount"] });

    const early = new FakeRunner().respond((argv) => (argv.join(" ") === MULTI_USER_ARGV.join(" ") ? { stdout: "inactive\n", status: 3 } : undefined));
    await expect(cli(undefined, early).slot("health-check")).rejects.toThrow("multi-user.target is inactive, not active");
  });

  test("usage errors: unknown subcommand, option, slot, or an option the subcommand does not take", async () => {
    const dir = bootDirWith(twoReleaseBox());
    await expect(cli().slot("frobnicate")).rejects.toBeInstanceOf(UsageError);
    await expect(cli().slot("status", "--verbose")).rejects.toThrow("unknown option --verbose");
    await expect(cli().slot("activate", "C", "--boot-dir", dir)).rejects.toThrow('no slot named "C": A (LV root) or B (LV back)');
    await expect(cli().slot("activate", "--boot-dir", dir)).rejects.toThrow("activate needs the slot");
    await expect(cli().slot("mark-good", "--reason", "x")).rejects.toThrow("va-agent slot mark-good does not take --reason");
    await expect(cli().slot("rollback", "B")).rejects.toThrow("too many arguments");
    const help = cli();
    expect(await help.slot("--help")).toBe(0);
    expect(help.text()).toContain("va-agent slot rollback");
  });

  test("no temp files are left on the shared partition after a command", async () => {
    const dir = bootDirWith(twoReleaseBox());
    await cli().slot("rollback", "--boot-dir", dir);
    expect(readdirSync(join(dir, "grub"))).toEqual(["grubenv"]);
    expect(readdirSync(join(dir, "va-agent"))).toEqual(["slots.json"]);
  });
});

describe("va-agent slot, through main", () => {
  test("help, status, and a refusal's exit code 16 with its next: line", () => {
    expect(agent("--help").stdout).toContain("va-agent slot status|mark-good|mark-bad|activate SLOT|rollback|health-check|fall-back");
    expect(agent("slot", "--help").stdout).toContain("--boot-dir DIR");
    const dir = bootDirWith(migratedBox());
    const cmdline = join(dir, "cmdline");
    writeFileSync(cmdline, "va.slot=A\n");
    const status = agent("slot", "status", "--boot-dir", dir, "--cmdline", cmdline);
    expect(status.status).toBe(0);
    expect(status.stdout).toContain("slot A (LV root): booted, boots next");
    const refused = agent("slot", "activate", "B", "--boot-dir", dir, "--cmdline", cmdline);
    expect(refused.status).toBe(ExitCode.slot);
    expect(refused.stderr).toContain("ERROR: cannot activate slot B: it is empty");
    expect(refused.stderr).toContain("next: Install a release into it first");
    const none = agent("slot", "status", "--boot-dir", mkdtempSync(join(tmpdir(), "va-slot-none-")));
    expect(none.status).toBe(16);
    expect(none.stderr).toContain("this box has no slot boot setup");
    expect(agent("slot", "status", "--bogus").status).toBe(ExitCode.usage);
  });
});
