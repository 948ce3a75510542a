/** `source.auth`: how Tidemark signs in to SQL Server (SQL login or one of the Entra ID flows). */
import { type ObjectReader, type StringCheck } from '../reader.js';
import { type SourceAuth } from '../types.js';
import { checkSqlName, hasRequiredSection } from './shared-fields.js';

const AUTH_KEYS: Readonly<Record<SourceAuth['type'], readonly string[]>> = {
  'sql-login': ['user', 'password'],
  'entra-default': [],
  'entra-managed-identity': ['clientId'],
  'entra-service-principal': ['tenantId', 'clientId', 'clientSecret'],
};

const checkGuid: StringCheck = (id) =>
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)
    ? undefined
    : { message: 'is not a GUID', fix: 'copy the id from the Entra ID portal (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)' };

export function readSourceAuth(source: ObjectReader): SourceAuth {
  const fallback: SourceAuth = { type: 'entra-default' };
  const given = hasRequiredSection(
    source,
    'auth',
    'missing: how Tidemark signs in to SQL Server',
    'add `auth: { type: sql-login, user: <login>, password: ${TIDEMARK_SOURCE_PASSWORD} }` or `auth: { type: entra-managed-identity }`',
  );
  if (!given) return fallback;
  const o = source.checker.object(source.at('auth'), source.raw('auth'), 'the source auth section');
  const type = o.variant('type', AUTH_KEYS, 'auth type');
  if (type === undefined) return fallback;
  switch (type) {
    case 'sql-login':
      return {
        type,
        user: o.requiredString('user', {
          what: 'the SQL login name',
          example: 'tidemark_extractor',
          check: checkSqlName,
        }),
        password: o.secret('password', {
          what: 'the SQL login password',
          envExample: 'TIDEMARK_SOURCE_PASSWORD',
          required: true,
        }),
      };
    case 'entra-default':
      return { type };
    case 'entra-managed-identity': {
      const clientId = o.optionalString('clientId', {
        what: 'the client id of the user-assigned identity',
        example: '<guid>',
        check: checkGuid,
      });
      return clientId === undefined ? { type } : { type, clientId };
    }
    case 'entra-service-principal':
      return {
        type,
        tenantId: o.requiredString('tenantId', {
          what: 'the directory (tenant) id',
          example: '<guid>',
          check: checkGuid,
        }),
        clientId: o.requiredString('clientId', {
          what: 'the application (client) id',
          example: '<guid>',
          check: checkGuid,
        }),
        clientSecret: o.secret('clientSecret', {
          what: 'the client secret',
          envExample: 'TIDEMARK_SOURCE_CLIENT_SECRET',
          required: true,
        }),
      };
  }
}
