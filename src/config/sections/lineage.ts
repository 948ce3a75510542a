/** The `lineage` section: where OpenLineage run events go (docs/lineage.md). */
import { type ObjectReader } from '../reader.js';
import { type LineageConfig } from '../types.js';

/** The endpoint's problem, if any (reported without the URL: it may carry credentials). */
function endpointProblem(text: string): { message: string; fix: string } | undefined {
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
}

export function readLineage(o: ObjectReader): LineageConfig {
  o.allow(['endpoint', 'apiKey', 'lake']);
  const endpoint = o.optionalString('endpoint', {
    what: 'the OpenLineage server’s base URL (events are POSTed to <endpoint>/api/v1/lineage)',
    example: 'http://marquez:5000',
  });
  const problem = endpoint === undefined ? undefined : endpointProblem(endpoint);
  if (problem) o.checker.report(o.at('endpoint'), `the lineage endpoint ${problem.message}`, problem.fix);
  const apiKey = o.secret('apiKey', { what: 'the lineage server’s API key', envExample: 'TIDEMARK_LINEAGE_API_KEY' });
  const lake = o.boolean('lake', { what: 'whether events are also written to the lake', fallback: false });
  return {
    ...(endpoint !== undefined && !problem ? { endpoint: endpoint.replace(/\/+$/, '') } : {}),
    ...(apiKey !== undefined ? { apiKey } : {}),
    lake,
  };
}
