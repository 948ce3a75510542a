/** A minimal valid config, and a way to derive broken ones from it, for the config tests. */
import { parse, stringify } from 'yaml';
import {
  parseConfig,
  type ConfigIssue,
  type Env,
  type ParseOptions,
  type TidemarkConfig,
} from '../../../src/config/index.js';

export const PASSWORD = 'pw-Sup3r-S3cret-7781';
export const ACCOUNT_KEY = 'QUNDT1VOVEtFWVNFQ1JFVA==';
export const CONNECTION_STRING = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${ACCOUNT_KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;`;
export const HASH_KEY = 'hk-0123456789abcdef0123456789abcdef';

export const ENV: Env = { PW: PASSWORD, CONN: CONNECTION_STRING, HASH: HASH_KEY };

export const BASE = `
source:
  host: 127.0.0.1
  database: Claims
  auth:
    type: sql-login
    user: tidemark_extractor
    password: \${PW}
sink:
  connectionString: \${CONN}
  container: raw
temporal:
  address: 127.0.0.1:7233
tables:
  - name: dbo.Claims
    capture:
      strategy: cdc
`;

type Tree = Record<string, unknown> & {
  source: Record<string, unknown>;
  sink: Record<string, unknown>;
  temporal: Record<string, unknown>;
  tables: Array<Record<string, unknown>>;
};

/** The base config, changed by `edit`, as YAML text. */
export function variant(edit: (doc: Tree) => void): string {
  const doc = parse(BASE) as Tree;
  edit(doc);
  return stringify(doc);
}

/** Parses text that must be valid; fails the test with the issues otherwise. */
export function valid(text: string, env: Env = ENV, options: ParseOptions = {}): TidemarkConfig {
  const result = parseConfig(text, env, options);
  if (!result.ok) throw new Error(`expected a valid config, got:\n${JSON.stringify(result.errors, null, 2)}`);
  return result.config;
}

/** Parses text that must be invalid; returns the issues. */
export function invalid(text: string, env: Env = ENV, options: ParseOptions = {}): ConfigIssue[] {
  const result = parseConfig(text, env, options);
  if (result.ok) throw new Error('expected config problems, got a valid config');
  return result.errors;
}

/** The one issue at `path`; fails when there is none or several. */
export function issueAt(issues: readonly ConfigIssue[], path: string): ConfigIssue {
  const found = issues.filter((i) => i.path === path);
  if (found.length !== 1) {
    throw new Error(`expected one issue at ${path}, got ${found.length}:\n${JSON.stringify(issues, null, 2)}`);
  }
  return found[0] as ConfigIssue;
}
