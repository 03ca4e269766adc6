/** An error whose HTTP status and message are meant for the client; rendered in one place (JSON for the API, a page in the browser). */
export class HubError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HubError';
  }
}

/** A configuration problem: names the key and the file. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
