import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { installCommand, slotStateOnBoot } from "../../agent/cli/install.ts";
import { renderInstallPlan } from "../../agent/slots/install-plan.ts";
import { captureStdout, removeWorkspaces } from "./bundle-fixture.ts";
import { GIB, installContext, slotWorld } from "./slot-install-fixture.ts";

afterAll(removeWorkspaces);

describe("va-agent install --dry-run", () => {
  test("prints the plan and runs nothing: no command, no slot state, nothing mounted, nothing captured", async () => {
    const world = await slotWorld();
    const { result, stdout } = await captureStdout(() => installCommand({ json: false, dryRun: true }, world.setup, world.run, world.log, world.state));
    expect(result).toBe(0);
    expect(stdout).toBe(renderInstallPlan(await installContext(world)));
    expect(stdout).toStartWith("va-agent install: va 13.1 into slot B from ");
    expect(stdout).toContain("booted slot: A (va.slot=A on the kernel command line), LV VA/root: never written");
    expect(stdout).toContain("12. finish-install [writes the slot state on the shared boot partition]");
    expect(world.run.calls).toEqual([]);
    expect(world.state.calls).toEqual([]);
    expect(existsSync(world.setup.slotTarget)).toBe(false);
    expect(existsSync(world.setup.workDir)).toBe(false);
  });

  test("--json --dry-run: one object with the plan's lines", async () => {
    const world = await slotWorld({ booted: "B" });
    const { stdout } = await captureStdout(() => installCommand({ json: true, dryRun: true }, world.setup, world.run, world.log, world.state));
    const document = JSON.parse(stdout);
    expect(document).toMatchObject({ dryRun: true, slot: "A", from: "B", product: { name: "va", release: "13.1" }, previous: { name: "va", release: "13.0" }, downgrade: false, warnings: [] });
    expect(document.plan.join("\n")).toContain("+ wipefs --all /dev/mapper/VA-root");
    expect(world.run.calls).toEqual([]);
  });

  test("a refusal in --dry-run is the refusal of the run (the facts are read either way), as JSON with --json", async () => {
    const world = await slotWorld({ release: "12.0" });
    const { result, stdout } = await captureStdout(() => installCommand({ json: true, dryRun: true }, world.setup, world.run, world.log, world.state));
    expect(result).toBe(5);
    expect(JSON.parse(stdout)).toMatchObject({ installed: false, error: { exitCode: 5 } });
    expect(world.run.calls).toEqual([]);
  });
});

describe("va-agent install --json", () => {
  test("one result object at the end", async () => {
    const world = await slotWorld();
    const { result, stdout } = await captureStdout(() => installCommand({ json: true, dryRun: false }, world.setup, world.run, world.log, world.state));
    expect(result).toBe(0);
    const document = JSON.parse(stdout);
    expect(document).toMatchObject({ installed: true, slot: "B", from: "A", vg: "VA", lv: "back", device: "/dev/mapper/VA-back", product: { release: "13.1" }, previous: { release: "13.0" }, signature: { ok: true } });
    expect(document.phases).toHaveLength(12);
    expect(document.performed).toBeUndefined();
  });

  test("a refusal: installed false with the error's message, next step and exit code", async () => {
    const world = await slotWorld({ lvBytes: GIB });
    const { result, stdout } = await captureStdout(() => installCommand({ json: true, dryRun: false }, world.setup, world.run, world.log, world.state));
    expect(result).toBe(17);
    expect(JSON.parse(stdout).error.message).toContain("the image does not fit slot B");
  });

  test("a box whose shared /boot has no slot state: the real writer stops the install at begin-install, nothing written to the slot", async () => {
    const world = await slotWorld();
    const emptyBoot = mkdtempSync(join(tmpdir(), "va-no-slot-boot-"));
    const { result, stdout } = await captureStdout(() => installCommand({ json: true, dryRun: false }, world.setup, world.run, world.log, slotStateOnBoot(emptyBoot, "A")));
    expect(result).toBe(16);
    expect(JSON.parse(stdout).error.message).toContain("no slot boot setup");
    expect(world.run.calls.map((argv) => argv[0])).not.toContain("wipefs");
  });
});
