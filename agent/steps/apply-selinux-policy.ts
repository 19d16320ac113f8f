import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { modeAndOwnerOf, writeFileAtomically } from "../disk/write-file-atomically.ts";
import { VerificationError } from "../errors/errors.ts";
import { check, type Entry, write } from "./entry.ts";
import type { PlanContext, Step } from "./step.ts";

/**
 * Labels came from the archive (xattrs); a full relabel at first boot makes them right for files
 * the agent wrote afterwards. SELinux is never switched off: a login that silently fails because
 * of wrong labels is the known trap, and disabling SELinux is not the fix for it.
 */
export const applySelinuxPolicy: Step = {
  name: "apply-selinux-policy",
  summary: "set the SELinux mode the manifest asks for and schedule a relabel at first boot",
  destructive: true,
  requires: ["target"],
  entries: (ctx: PlanContext): Entry[] => {
    const { mode, relabel } = ctx.manifest.selinux;
    const configPath = join(ctx.paths.targetRoot, "etc/selinux/config");
    if (mode === "none") {
      return [
        check(`the new root has no ${configPath} (the manifest says no SELinux; one that is there is left as shipped)`, (run) => {
          if (existsSync(configPath)) run.log.warn("the manifest says the new OS has no SELinux, but it has /etc/selinux/config; left as shipped");
        }),
      ];
    }
    const autorelabel = join(ctx.paths.targetRoot, ".autorelabel");
    return [
      check(`the new root has ${configPath}`, () => {
        if (!existsSync(configPath)) {
          throw new VerificationError(
            `the manifest asks for SELinux ${mode}, but the new root has no /etc/selinux/config`,
            'Install the SELinux policy in the payload or set selinux.mode to "none" in the manifest.',
          );
        }
      }),
      write(configPath, `SELINUX=${mode}`, () => writeFileAtomically(configPath, withSelinuxMode(readFileSync(configPath, "utf8"), mode), modeAndOwnerOf(configPath, 0o644))),
      ...(relabel
        ? [
            write(autorelabel, "empty: a full SELinux relabel at first boot", (run) => {
              writeFileSync(autorelabel, "");
              run.log.info("scheduled a full SELinux relabel at first boot (/.autorelabel)");
            }),
          ]
        : []),
    ];
  },
};

export function withSelinuxMode(config: string, mode: string): string {
  const line = `SELINUX=${mode}`;
  return /^SELINUX=.*$/m.test(config) ? config.replace(/^SELINUX=.*$/m, line) : `${config.trimEnd()}\n${line}\n`;
}
