/** An error whose HTTP status and message are meant for the client; rendered in one place (JSON for the API, a page in the browser). */
export class HubError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
    /** More JSON fields for API answers, e.g. `errors` by field for a form's checks. */
    readonly extra: Record<string, unknown> = {},
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
