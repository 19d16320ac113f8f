// systemd units and drop-ins under units/, imported as text (`with { type: "text" }`): bun compiles them into the agent.
declare module "*.service" {
  const text: string;
  export default text;
}
declare module "*.conf" {
  const text: string;
  export default text;
}
declare module "*.timer" {
  const text: string;
  export default text;
}
