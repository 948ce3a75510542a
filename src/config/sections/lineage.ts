/** The `lineage` section: where OpenLineage run events go (docs/lineage.md). */
import { type ObjectReader, type StringCheck } from '../reader.js';
import { type LineageConfig } from '../types.js';

const checkEndpoint: StringCheck = (text) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { message: 'is not a URL', fix: 'write the lineage server’s base URL, e.g. `http://marquez:5000`' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { message: 'is not an http(s) URL', fix: 'write an http:// or https:// URL' };
  if (url.username || url.password || url.search)
    return {
      message: 'carries credentials or a query',
      fix: 'write the base URL only and put the key in `apiKey: ${TIDEMARK_LINEAGE_API_KEY}`',
    };
  return undefined;
};

export function readLineage(o: ObjectReader): LineageConfig {
  o.allow(['endpoint', 'apiKey', 'lake']);
  const endpoint = o.optionalString('endpoint', {
    what: 'the OpenLineage server’s base URL (events are POSTed to <endpoint>/api/v1/lineage)',
    example: 'http://marquez:5000',
    check: checkEndpoint,
  });
  const apiKey = o.secret('apiKey', { what: 'the lineage server’s API key', envExample: 'TIDEMARK_LINEAGE_API_KEY' });
  const lake = o.boolean('lake', { what: 'whether events are also written to the lake', fallback: false });
  return {
    ...(endpoint !== undefined ? { endpoint: endpoint.replace(/\/+$/, '') } : {}),
    ...(apiKey !== undefined ? { apiKey } : {}),
    lake,
  };
}
