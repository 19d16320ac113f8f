/** JSON Schema of captured-config.json (format 1): what `stage` captured on the old system. */
const ipv4 = { type: "string", pattern: "^(\\d{1,3}\\.){3}\\d{1,3}$" } as const;
const cidr = { type: "string", pattern: "^(\\d{1,3}\\.){3}\\d{1,3}/\\d{1,2}$" } as const;
const mac = { type: "string", pattern: "^([0-9a-f]{2}:){5}[0-9a-f]{2}$", description: "lower case, colon separated" } as const;

const address = {
  type: "object",
  required: ["address", "prefix"],
  additionalProperties: false,
  properties: { address: ipv4, prefix: { type: "integer", minimum: 0, maximum: 32 } },
} as const;

const route = {
  type: "object",
  required: ["to", "via"],
  additionalProperties: false,
  properties: { to: cidr, via: ipv4, metric: { type: "integer", minimum: 0 } },
} as const;

const networkInterface = {
  type: "object",
  required: ["mac", "oldName", "method", "addresses", "routes"],
  additionalProperties: false,
  properties: {
    mac,
    oldName: { type: "string", pattern: "^[A-Za-z0-9_.:-]{1,15}$", description: "the interface's name on the old system" },
    method: { enum: ["static", "dhcp"] },
    addresses: { type: "array", items: address },
    gateway: ipv4,
    routes: { type: "array", items: route },
    mtu: { type: "integer", minimum: 68, maximum: 65535 },
  },
} as const;

export const capturedConfigSchema = {
  $schema: "http://json-schema.org/draft-07/schema#",
  $id: "https://va-agent.invalid/captured-config-1.json",
  title: "va-agent captured configuration",
  type: "object",
  required: ["format", "interfaces", "dns", "accounts", "paths", "warnings"],
  additionalProperties: false,
  properties: {
    format: { const: 1 },
    hostname: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$" },
    interfaces: { type: "array", items: networkInterface },
    dns: {
      type: "object",
      required: ["servers", "search"],
      additionalProperties: false,
      properties: { servers: { type: "array", items: ipv4 }, search: { type: "array", items: { type: "string", minLength: 1 } } },
    },
    accounts: {
      type: "array",
      items: {
        type: "object",
        required: ["name", "passwordHash"],
        additionalProperties: false,
        properties: { name: { type: "string", pattern: "^[a-z_][a-z0-9_-]*$" }, passwordHash: { type: "string", pattern: "^[^:\\n]*$" } },
      },
    },
    paths: {
      type: "array",
      items: {
        type: "object",
        required: ["path", "archive"],
        additionalProperties: false,
        properties: { path: { type: "string", pattern: "^/" }, archive: { const: "carry-over-paths.tar" } },
      },
    },
    warnings: {
      type: "array",
      items: {
        type: "object",
        required: ["id", "message"],
        additionalProperties: false,
        properties: { id: { type: "string", pattern: "^[a-z0-9-]+$" }, message: { type: "string" } },
      },
    },
  },
} as const;
