// Trust on first use for the browser: the identity key's fingerprint per server endpoint, kept in
// the browser's storage (localStorage by default). A key is pinned only when the user says so; a
// key different from the pinned one is refused. The terminal and Python clients' known-hosts file
// is out of a page's reach, so a key trusted there must be trusted here again (compare the
// fingerprints, which are the same values: PROTOCOL.md §4).

export const STORAGE_KEY = "laboratory.pinnedKeys";

/** The endpoint a pin belongs to: the WebSocket URL's scheme, host (lower-cased, with the port if
 * any) and path, e.g. `ws://127.0.0.1:8080/v1/ws`. Query and fragment are not part of it. */
export function endpointOf(url) {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

export class PinStore {
  constructor(storage = globalThis.localStorage, key = STORAGE_KEY) {
    this.storage = storage;
    this.key = key;
  }

  all() {
    try {
      const value = JSON.parse(this.storage.getItem(this.key) ?? "{}");
      return value && typeof value === "object" && !Array.isArray(value) ? value : {};
    } catch {
      return {};
    }
  }

  get(endpoint) {
    const value = this.all()[endpoint];
    return typeof value === "string" && value.startsWith("SHA256:") ? value : null;
  }

  pin(endpoint, fingerprint) {
    if (!fingerprint.startsWith("SHA256:")) throw new Error("a fingerprint starts with SHA256:");
    const all = this.all();
    all[endpoint] = fingerprint;
    this.storage.setItem(this.key, JSON.stringify(all));
  }

  forget(endpoint) {
    const all = this.all();
    delete all[endpoint];
    this.storage.setItem(this.key, JSON.stringify(all));
  }

  /** { status: "trusted" } | { status: "unknown" } | { status: "mismatch", pinned } */
  check(endpoint, fingerprint) {
    const pinned = this.get(endpoint);
    if (pinned === null) return { status: "unknown" };
    return pinned === fingerprint ? { status: "trusted" } : { status: "mismatch", pinned };
  }
}
