/** The `privacy` section: the HMAC key of the PHI `hash` action. */
import { type ObjectReader } from '../reader.js';
import { type PrivacyConfig } from '../types.js';

export function readPrivacy(o: ObjectReader): PrivacyConfig {
  o.allow(['hashKey']);
  const hashKey = o.secret('hashKey', {
    what: 'the HMAC key of the PHI hash action',
    envExample: 'TIDEMARK_PHI_HASH_KEY',
    required: true,
  });
  if (hashKey.kind === 'value' && hashKey.value !== '' && hashKey.value.length < 32) {
    o.checker.report(
      o.at('hashKey'),
      `the hash key (from ${hashKey.fromEnv.join(', ')}) is shorter than 32 characters`,
      'set it to a random string of at least 32 characters, e.g. `openssl rand -hex 32`',
    );
  }
  return { hashKey };
}
