/** `sink.connectionString`: its shape is checked without ever echoing it (it carries the account key or SAS). */
import { type ObjectReader } from '../reader.js';
import { isLoopback } from './shared-fields.js';

/** Reports what is wrong with a storage connection string, naming its keys but never its values. */
export function checkConnectionString(o: ObjectReader, value: string): void {
  const pairs = connectionStringPairs(o, value);
  if (pairs === undefined) return;
  const dev = pairs.get('usedevelopmentstorage')?.toLowerCase() === 'true';
  if (!dev && !pairs.has('accountname') && !pairs.has('blobendpoint')) {
    o.checker.report(
      o.at('connectionString'),
      'the connection string names no AccountName or BlobEndpoint',
      'copy the full connection string from the storage account\'s "Access keys" page',
    );
    return;
  }
  if (!dev && !pairs.has('accountkey') && !pairs.has('sharedaccesssignature')) {
    o.checker.report(
      o.at('connectionString'),
      'the connection string has no AccountKey or SharedAccessSignature',
      'copy the full connection string, or use `accountUrl` with `auth: defaultAzureCredential`',
    );
  }
  const endpoint = pairs.get('blobendpoint');
  if (endpoint !== undefined) checkBlobEndpoint(o, endpoint);
  else if (!dev && pairs.get('defaultendpointsprotocol')?.toLowerCase() === 'http') {
    o.checker.report(
      o.at('connectionString'),
      'the connection string uses DefaultEndpointsProtocol=http',
      'use `DefaultEndpointsProtocol=https`',
    );
  }
}

/** The `Key=value;` pairs, keys lowercased; undefined (after reporting) when the text is not such a list. */
function connectionStringPairs(o: ObjectReader, value: string): Map<string, string> | undefined {
  const pairs = new Map<string, string>();
  for (const part of value.split(';')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) {
      o.checker.report(
        o.at('connectionString'),
        'the connection string is not a list of `Key=value;` pairs',
        'copy the connection string from the storage account\'s "Access keys" page, or use Azurite\'s',
      );
      return undefined;
    }
    pairs.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return pairs;
}

function checkBlobEndpoint(o: ObjectReader, endpoint: string): void {
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    o.checker.report(
      o.at('connectionString'),
      "the connection string's BlobEndpoint is not a URL",
      'write `BlobEndpoint=https://<account>.blob.core.windows.net`',
    );
  }
  if (url && url.protocol !== 'https:' && !isLoopback(url.hostname)) {
    o.checker.report(
      o.at('connectionString'),
      "the connection string's BlobEndpoint is not https",
      'use `https://` (plain http is allowed only for a loopback emulator such as Azurite)',
    );
  }
}
