// Tar archives for the Engine API: files uploaded into a container (PUT /containers/{id}/archive) and
// an image's build context (POST /build), the way the docker provider and CLI send them.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface TarEntry {
  /** Path inside the archive, relative ("etc/nats/nats.conf"). */
  readonly name: string;
  readonly content: Buffer;
  /** Octal permission bits; default 0o644. */
  readonly mode?: number;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** One ustar header; long names are split into prefix (155) and name (100) at a slash. */
function header(entry: TarEntry): Buffer {
  const block = Buffer.alloc(512);
  let name = entry.name;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100)
      throw new Error(`path too long for tar: ${name}`);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
  }
  block.write(name, 0, 100);
  block.write(octal(entry.mode ?? 0o644, 8), 100, 8);
  block.write(octal(0, 8), 108, 8); // uid root
  block.write(octal(0, 8), 116, 8); // gid root
  block.write(octal(entry.content.length, 12), 124, 12);
  block.write(octal(Math.floor(Date.now() / 1000), 12), 136, 12);
  block.write('        ', 148, 8); // checksum placeholder: spaces
  block.write('0', 156, 1); // regular file
  block.write('ustar\0', 257, 6);
  block.write('00', 263, 2);
  block.write(prefix, 345, 155);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(octal(sum, 7) + ' ', 148, 8);
  return block;
}

export function tar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    parts.push(header(entry), entry.content);
    const pad = (512 - (entry.content.length % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/**
 * `.dockerignore` semantics as the CLI applies them: patterns in order, the last match wins, `!` re-includes,
 * and a pattern matching a directory matches everything under it.
 */
export function dockerignore(text: string) {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = path.posix.normalize((negate ? l.slice(1) : l).trim()).replace(/^\/+|\/+$/g, '');
      const source = pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*/g, '\n')
        .replace(/\*/g, '[^/]*') // `**` was set aside as a newline, which no pattern line contains
        .replace(/\?/g, '[^/]')
        .replace(/\n/g, '.*');
      return { negate, pattern, regex: new RegExp(`^${source}(?:/.*)?$`) };
    });
  const ignored = (relativePath: string) => {
    let result = false;
    for (const rule of rules) if (rule.regex.test(relativePath)) result = !rule.negate;
    return result;
  };
  /** Whether anything under an ignored directory could be re-included (else it is not walked). */
  const mayInclude = (dir: string) =>
    !ignored(dir) ||
    rules.some((r) => r.negate && (r.pattern.startsWith(`${dir}/`) || r.pattern.includes('*')));
  return { ignored, mayInclude };
}

/** The build context of `dir` as a tar, honouring its .dockerignore (the Dockerfile is always sent). */
export function buildContext(dir: string, dockerfile: string): Buffer {
  return tar(contextEntries(dir, dockerfile));
}

/**
 * A digest of what the context holds (paths, modes, contents; not the archive's times), as the provider's
 * contextDigest: it changes exactly when a file the build can see changes.
 */
export function contextDigest(dir: string, dockerfile: string): string {
  const hash = createHash('sha256');
  for (const e of contextEntries(dir, dockerfile)) {
    hash.update(`${e.name}\0${e.mode}\0${e.content.length}\0`).update(e.content);
  }
  return hash.digest('hex');
}

function contextEntries(dir: string, dockerfile: string): TarEntry[] {
  const ignoreFile = path.join(dir, '.dockerignore');
  const rules = dockerignore(fs.existsSync(ignoreFile) ? fs.readFileSync(ignoreFile, 'utf8') : '');
  const entries: TarEntry[] = [];
  const walk = (relative: string) => {
    for (const item of fs.readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      const rel = relative ? `${relative}/${item.name}` : item.name;
      if (item.isDirectory()) {
        if (rules.mayInclude(rel)) walk(rel);
      } else if (item.isFile() && (!rules.ignored(rel) || rel === dockerfile)) {
        const full = path.join(dir, rel);
        entries.push({ name: rel, content: fs.readFileSync(full), mode: fs.statSync(full).mode & 0o777 });
      }
    }
  };
  walk('');
  return entries;
}
