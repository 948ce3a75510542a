/**
 * Who Tidemark is, from its package.json: the name and version (the `version` label of `tidemark_worker_info`) and
 * the URI naming this build as the producer of its OpenLineage events.
 */
import { readFileSync } from 'node:fs';

/** The fields of package.json Tidemark names itself by. */
export interface PackageIdentity {
  readonly name: string;
  readonly version: string;
  /** The repository's web address, when package.json has one (`repository` as a string or `{ url }`). */
  readonly repository?: string;
}

let cached: PackageIdentity | undefined;

/** Read once from the package.json beside `src/` (`tidemark`, `unknown` when it cannot be read). */
export function packageIdentity(): PackageIdentity {
  if (cached) return cached;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      name?: string;
      version?: string;
      repository?: string | { url?: string };
    };
    const repo = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
    cached = {
      name: pkg.name ?? 'tidemark',
      version: pkg.version ?? 'unknown',
      ...(repo ? { repository: repo.replace(/^git\+/, '').replace(/\.git$/, '') } : {}),
    };
  } catch {
    cached = { name: 'tidemark', version: 'unknown' };
  }
  return cached;
}

/**
 * The OpenLineage `producer` (and facets' `_producer`) URI of this build. With a `repository` in package.json,
 * the spec's own example: the repository's address at the version's tag (`<repository>/tree/v<version>`).
 * Without one (the package is private and names no public repository), its Package URL
 * (https://github.com/package-url/purl-spec) `pkg:npm/<name>@<version>`: a URI that names exactly this package and
 * version and that no one else's producer can claim — rather than a made-up web address.
 */
export function producerUri(id: PackageIdentity = packageIdentity()): string {
  if (id.repository && /^https?:\/\//.test(id.repository)) return `${id.repository}/tree/v${id.version}`;
  return `pkg:npm/${encodeURIComponent(id.name).replace('%40', '@')}@${encodeURIComponent(id.version)}`;
}
