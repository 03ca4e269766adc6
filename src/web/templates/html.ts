/**
 * The `html` tagged template: every interpolated value is escaped unless it is already `SafeHtml`.
 * Templates must quote every attribute value (`href="${url}"`), so escaping is enough for both
 * text and attribute positions.
 */

/** HTML that may be emitted as is: built by `html` (whose holes were escaped) or vouched for with `raw()`. */
export class SafeHtml {
  readonly #html: string;

  constructor(html: string) {
    this.#html = html;
  }

  toString(): string {
    return this.#html;
  }
}

/** What a template hole accepts: `false`, `null` and `undefined` render as nothing, so `${cond && html`…`}` works. */
export type Interpolation = SafeHtml | string | number | null | undefined | false | readonly Interpolation[];

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

// Hand-written on purpose: five replacements are all that text and quoted attributes need; an engine would add a dependency and runtime template compilation, and lose type-checking of the values.
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

function render(value: Interpolation): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.toString();
  if (Array.isArray(value)) return (value as readonly Interpolation[]).map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** Marks trusted HTML (a spawner's options form from the hub's configuration) as safe. Never pass user input. */
export function raw(trusted: string): SafeHtml {
  return new SafeHtml(trusted);
}
