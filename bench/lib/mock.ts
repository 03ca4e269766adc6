/** Builds the C mock user server once per run (a few ms of cc) and returns its path. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'mock', 'mock-server.c');

export function buildMock(outDir = 'bench/out'): string {
  mkdirSync(outDir, { recursive: true });
  const binary = path.resolve(outDir, 'mock-server');
  let fresh = false;
  try {
    fresh = statSync(binary).mtimeMs >= statSync(SOURCE).mtimeMs;
  } catch {
    // not built yet
  }
  if (!fresh) {
    try {
      execFileSync('cc', ['-O2', '-Wall', '-o', binary, SOURCE], { stdio: ['ignore', 'ignore', 'inherit'] });
    } catch (err) {
      throw new Error(`could not compile ${SOURCE} (is gcc installed? make deps-system-test installs it): ${(err as Error).message}`);
    }
  }
  return binary;
}
