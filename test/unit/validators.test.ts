import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { VALIDATORS, validatorSource } from "../../build/validators.ts";

describe("ahead-of-time schema validators", () => {
  for (const validator of VALIDATORS) {
    test(`${validator.file} is generated from the current ${validator.schemaFile}`, () => {
      const committed = readFileSync(join(import.meta.dir, "../..", validator.file), "utf8");
      // a schema changed without `bun build.ts validators`: the agent would validate against the old one
      expect(committed).toBe(validatorSource(validator));
    });
  }
});
