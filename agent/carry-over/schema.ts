/** JSON Schema of captured-config.json (format 2): what `stage` captured on the old system. */
const ipv4 = "(\\d{1,3}\\.){3}\\d{1,3}";
const ipv6 = "[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*";
const ip = { type: "string", pattern: `^(${ipv4}|${ipv6})$` } as const;
const cidr = { type: "string", pattern: `^(${ipv4}/\\d{1,2}|${ipv6}/\\d{1,3})$` } as const;
const mac = { type: "string", pattern: "^([0-9a-f]{2}:){5}[0-9a-f]{2}$", description: "lower case, colon separated" } as const;
const interfaceName = { type: "string", pattern: "^[A-Za-z0-9_.:-]{1,15}$" } as const;
const count = { type: "integer", minimum: 0 } as const;

const address = {
  type: "object",
  required: ["address", "prefix"],
  additionalProperties: false,
  properties: { address: ip, prefix: { type: "integer", minimum: 0, maximum: 128 } },
} as const;

const route = {
  type: "object",
  required: ["to"],
  additionalProperties: false,
  properties: {
    to: cidr,
    via: ip,
    metric: count,
    src: ip,
    table: count,
    onlink: { type: "boolean" },
    scope: { enum: ["global", "link", "host"] },
    type: { enum: ["unicast", "local", "blackhole", "unreachable", "prohibit"] },
  },
} as const;

const gateway = {
  type: "object",
  required: ["via"],
  additionalProperties: false,
  properties: { via: ip, metric: count },
} as const;

const family = {
  dhcp: { type: "boolean" },
  neverDefault: { type: "boolean" },
  addresses: { type: "array", items: address },
  gateway,
  routes: { type: "array", items: route },
} as const;

const networkInterface = {
  type: "object",
  required: ["name", "kind", "activation"],
  additionalProperties: false,
  properties: {
    name: { ...interfaceName, description: "the interface's name on the old system" },
    kind: { enum: ["ethernet", "bond", "vlan", "bridge"] },
    mac,
    activation: { enum: ["boot", "manual"] },
    mtu: { type: "integer", minimum: 68, maximum: 65535 },
    controller: interfaceName,
    bond: {
      type: "object",
      required: ["mode"],
      additionalProperties: false,
      properties: {
        mode: { enum: ["balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"] },
        miimon: count,
        updelay: count,
        downdelay: count,
        lacpRate: { enum: ["slow", "fast"] },
        xmitHashPolicy: { enum: ["layer2", "layer2+3", "layer3+4", "encap2+3", "encap3+4", "vlan+srcmac"] },
        primary: interfaceName,
      },
    },
    vlan: {
      type: "object",
      required: ["id", "parent"],
      additionalProperties: false,
      properties: { id: { type: "integer", minimum: 0, maximum: 4094 }, parent: interfaceName },
    },
    bridge: {
      type: "object",
      required: ["stp"],
      additionalProperties: false,
      properties: { stp: { type: "boolean" }, forwardDelay: count },
    },
    ipv4: { type: "object", required: ["dhcp", "addresses", "routes"], additionalProperties: false, properties: family },
    ipv6: {
      type: "object",
      required: ["autoconf", "dhcp", "addresses", "routes"],
      additionalProperties: false,
      properties: { ...family, autoconf: { type: "boolean" } },
    },
  },
  allOf: [
    { if: { properties: { kind: { const: "ethernet" } } }, then: { required: ["mac"] } },
    { if: { properties: { kind: { const: "bond" } } }, then: { required: ["bond"] } },
    { if: { properties: { kind: { const: "vlan" } } }, then: { required: ["vlan"] } },
    { if: { properties: { kind: { const: "bridge" } } }, then: { required: ["bridge"] } },
  ],
} as const;

const account = {
  type: "object",
  required: ["name", "passwordHash", "uid", "gid", "gecos", "home", "shell", "groups", "shadowAging"],
  additionalProperties: false,
  properties: {
    name: { type: "string", pattern: "^[a-z_][a-z0-9_-]*\\$?$" },
    passwordHash: { type: "string", pattern: "^[^:\\n]*$" },
    uid: count,
    gid: count,
    gecos: { type: "string", pattern: "^[^:\\n]*$" },
    home: { type: "string", pattern: "^[^:\\n]*$" },
    shell: { type: "string", pattern: "^[^:\\n]*$" },
    groups: {
      type: "array",
      items: {
        type: "object",
        required: ["name", "gid", "primary"],
        additionalProperties: false,
        properties: { name: { type: "string", pattern: "^[A-Za-z0-9_.][A-Za-z0-9_.-]*\\$?$" }, gid: count, primary: { type: "boolean" } },
      },
    },
    shadowAging: { type: "string", pattern: "^[^\\n]*$" },
  },
} as const;

const mount = {
  type: "object",
  required: ["spec", "mountPoint", "type", "options", "dump", "pass", "lives"],
  additionalProperties: false,
  properties: {
    spec: { type: "string", pattern: "^\\S+$" },
    mountPoint: { type: "string", pattern: "^/\\S*$" },
    type: { type: "string", pattern: "^\\S+$" },
    options: { type: "string", pattern: "^\\S+$" },
    dump: count,
    pass: count,
    lives: { enum: ["other-disk", "network"] },
  },
} as const;

export const capturedConfigSchema = {
  $schema: "http://json-schema.org/draft-07/schema#",
  $id: "https://va-agent.invalid/captured-config-2.json",
  title: "va-agent captured configuration",
  type: "object",
  required: ["format", "interfaces", "dns", "accounts", "mounts", "paths", "warnings"],
  additionalProperties: false,
  properties: {
    format: { const: 2 },
    hostname: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$" },
    interfaces: { type: "array", items: networkInterface },
    dns: {
      type: "object",
      required: ["servers", "search"],
      additionalProperties: false,
      properties: { servers: { type: "array", items: ip }, search: { type: "array", items: { type: "string", minLength: 1 } } },
    },
    accounts: { type: "array", items: account },
    mounts: { type: "array", items: mount },
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
        properties: { id: { type: "string", pattern: "^[a-z0-9-]+$" }, message: { type: "string" }, interface: interfaceName },
      },
    },
  },
} as const;
