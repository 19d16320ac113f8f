// The shell scripts the e2e scenarios put on their command disks parse (bash -n): a syntax error
// there costs a migration under TCG before it shows.
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { rescueScript } from "../e2e/rescue-lifecycle.ts";

test("the rescue life cycle's run.sh parses", () => {
  const result = spawnSync("bash", ["-n"], { input: rescueScript("cycle-1"), encoding: "utf8" });
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
});
