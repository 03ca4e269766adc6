/**
 * The site's own look (config `logo_file` and `branding`): the files are read once at start, so a
 * missing or unreadable one stops the hub with a message naming the key and the file.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { HubConfig } from './schema.js';
import { ConfigError } from '../errors.js';

export interface ServedFile {
  body: Buffer;
  type: string;
  etag: string;
}

export interface Branding {
  siteName: string;
  /** The configured logo, or null for Ganymede's own. */
  logo: ServedFile | null;
  stylesheet: ServedFile | null;
  footer: string;
  footerLinks: Array<{ label: string; url: string }>;
  loginMessage: string;
}

const IMAGE_TYPES: Record<string, string> = {
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
};

export function servedFile(body: Buffer, type: string): ServedFile {
  return { body, type, etag: '"' + createHash('sha1').update(body).digest('hex').slice(0, 16) + '"' };
}

function readOrFail(key: string, file: string): Buffer {
  try {
    return readFileSync(path.resolve(file));
  } catch (err) {
    throw new ConfigError(`${key}: cannot read ${path.resolve(file)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function loadBranding(config: Pick<HubConfig, 'logo_file' | 'branding'>): Branding {
  let logo: ServedFile | null = null;
  if (config.logo_file) {
    const type = IMAGE_TYPES[path.extname(config.logo_file).toLowerCase()];
    if (!type) throw new ConfigError(`logo_file: ${config.logo_file} is not an image this hub serves (${Object.keys(IMAGE_TYPES).join(', ')})`);
    logo = servedFile(readOrFail('logo_file', config.logo_file), type);
  }
  const { stylesheet, site_name, footer, footer_links, login_message } = config.branding;
  return {
    siteName: site_name,
    logo,
    stylesheet: stylesheet ? servedFile(readOrFail('branding.stylesheet', stylesheet), 'text/css; charset=utf-8') : null,
    footer,
    footerLinks: footer_links,
    loginMessage: login_message,
  };
}
